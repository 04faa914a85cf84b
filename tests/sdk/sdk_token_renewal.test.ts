import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConnectionStatus, type Message, StormClient } from "../../client/index.ts";
import { nodePlatform } from "../../client/platform/node.ts";
import { startStorm, type StormProcess } from "../harness/storm_process.ts";
import { until } from "../harness/until.ts";

const SECRET = "sdk-token-renewal-test-secret-0123456789abcdef";

/** A token for `user` that expires `seconds` from now, signed as a backend would (PROTOCOL.md "Tokens"). */
function token(user: string, seconds: number): Promise<string> {
  return new SignJWT({ role: "user" }).setProtectedHeader({ alg: "HS256" }).setSubject(user).setIssuer("storm")
    .setIssuedAt().setExpirationTime(Math.floor(Date.now() / 1000) + seconds).sign(new TextEncoder().encode(SECRET));
}

describe("sdk - token renewal on an open connection", () => {
  let node: StormProcess;
  const clients: StormClient[] = [];

  beforeAll(async () => {
    const file = join(tmpdir(), `storm-sdk-secret-${process.pid}`);
    writeFileSync(file, SECRET, { mode: 0o600 });
    node = await startStorm({ args: ["--jwt-secret-file", file] });
    const created = await node.http("POST", "/channels", { token: await token("alice", 60), body: { name: "renew", members: ["bob"] } });
    expect(created.status).toBe(201);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await node?.stop();
  });

  it("answers the server's reauth with a fresh token: the connection outlives its first token, no reconnect, no gap", async () => {
    let refreshed = 0;
    const firstExpiry = Date.now() + 4_000;
    const alice = new StormClient({
      url: node.url, token: await token("alice", 4), platform: nodePlatform(), transports: ["websocket"],
      refreshToken: async () => (refreshed++, token("alice", 4)),
    });
    const bob = new StormClient({ url: node.url, token: await token("bob", 60), platform: nodePlatform(), transports: ["websocket"] });
    clients.push(alice, bob);
    const states: ConnectionStatus["state"][] = [];
    let welcomes = 0;
    alice.on("status", (s) => states.push(s.state));
    alice.on("welcome", () => welcomes++);
    await Promise.all([alice.connect(), bob.connect()]);
    const got: Message[] = [];
    alice.channel("renew").on("message", (m) => got.push(m));
    await alice.channel("renew").subscribe();
    for (const body of ["m1", "m2"]) await bob.channel("renew").publish(body);
    // Past two 4 s tokens: the server asks for a new one half-way through each.
    await until(() => refreshed >= 2, 15_000, "two token renewals");
    await until(() => Date.now() > firstExpiry + 500, 10_000, "the first token's expiry");
    for (const body of ["m3", "m4", "m5"]) await bob.channel("renew").publish(body);
    await until(() => got.length >= 5, 10_000, "5 messages");
    expect(welcomes, "one connection all along").toBe(1);
    expect(states.filter((s) => s === "connecting").length, "never reconnected").toBe(1);
    expect(got.map((m) => m.body)).toEqual(["m1", "m2", "m3", "m4", "m5"]);
  });
});
