/**
 * The SDK under Deno (run by run_deno_smoke.mjs): `deno run -A tests/deno/sdk_smoke.mjs <http base>
 * <alice token> <bob token> <channel> <after>`. Bob subscribes from `after`, alice publishes two
 * messages with the SDK's web-standard platform (Deno's own WebSocket, fetch and crypto); prints
 * one JSON line with the acks and what bob received, then exits.
 */
import { StormClient } from "../../client/index.ts";
import { webPlatform } from "../../client/platform/web.ts";

const [url, aliceToken, bobToken, ch, after] = Deno.args;
const make = (token) => new StormClient({ url, token, platform: webPlatform(), transports: ["websocket"] });
const alice = make(aliceToken);
const bob = make(bobToken);
const timer = setTimeout(() => {
  console.error("timed out after 15 s");
  Deno.exit(2);
}, 15_000);
await Promise.all([alice.connect(), bob.connect()]);
const received = [];
const got = new Promise((resolve) => {
  bob.channel(ch).on("message", (m) => {
    received.push([m.seq, m.from, m.body]);
    if (received.length === 2) resolve();
  });
});
await bob.channel(ch).subscribe(Number(after));
const acks = [];
for (const body of ["sdk under deno 1", "sdk under deno 2"]) acks.push((await alice.channel(ch).publish(body)).seq);
await got;
console.log(JSON.stringify({ transport: alice.status.transport, user: alice.user, acks, received }));
clearTimeout(timer);
alice.close();
bob.close();
