import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type StormProcess, startStorm } from "./harness/storm_process.ts";
import { WsClient } from "./harness/ws_client.ts";

/**
 * A WebSocket does not outlive its token: 2 s tokens against a real node. The node warns before
 * expiry (`reauth`), takes a fresh token on the open socket (`auth`), and closes an expired socket
 * with `token_expired` (4103, after an `err` frame); the client reconnects and resumes (G4).
 */
const SECRET = "token-lifetime-test-secret-0123456789abcdef";
let node: StormProcess;
const clients: WsClient[] = [];

beforeAll(async () => {
  node = await startStorm({ workers: 1, args: ["--dev-tokens"], env: { STORM_JWT_SECRET: SECRET } });
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await node?.stop();
});

/** A token as a backend mints it, valid `ttlS` seconds. */
function token(user: string, ttlS: number): Promise<string> {
  return new SignJWT({ role: "user" }).setProtectedHeader({ alg: "HS256" }).setSubject(user).setIssuer("storm")
    .setIssuedAt().setExpirationTime(Math.floor(Date.now() / 1000) + ttlS).sign(new TextEncoder().encode(SECRET));
}

async function connect(user: string, ttlS: number): Promise<WsClient> {
  const c = await WsClient.connect(node.wsUrl, await token(user, ttlS));
  clients.push(c);
  return c;
}

describe("token lifetime on open connections", () => {
  test("auth - an expired token ends its connection with an err token_expired, then close 4103; the client resumes with a fresh token", async () => {
    const owner = await connect("tl-owner", 60);
    expect(await owner.ask({ t: "create", ch: "tl-room" })).toMatchObject({ t: "ok" });
    const c = await connect("tl-owner", 2);
    const subbed = await c.ask({ t: "sub", ch: "tl-room" });
    expect(subbed).toMatchObject({ t: "subbed", last: 0 });
    await owner.publish("tl-room", "m1", "one");
    await c.waitForCount("tl-room", 1);
    const notice = await c.waitForFrame((f) => f.t === "reauth", 5_000, "reauth");
    expect(notice.exp).toBeGreaterThan(Date.now() - 1_000);
    const closed = await c.closed(5_000);
    expect(closed).toEqual({ code: 4103, reason: "token_expired" });
    expect(c.frames.find((f) => f.t === "err")).toMatchObject({ code: "token_expired", retry: "reconnect" });
    // Published while the client was away: the resume delivers it, with no gap and no duplicate.
    await owner.publish("tl-room", "m2", "two");
    const again = await connect("tl-owner", 60);
    await again.ask({ t: "sub", ch: "tl-room", after: c.seqs("tl-room").at(-1) });
    await again.waitForCount("tl-room", 1);
    expect(again.seqs("tl-room")).toEqual([2]);
  });

  test("auth - a fresh token on the open connection keeps it alive past the first token's expiry", async () => {
    const c = await connect("tl-renew", 2);
    const notice = await c.waitForFrame((f) => f.t === "reauth", 5_000, "reauth");
    const reply = await c.ask({ t: "auth", token: await token("tl-renew", 60) });
    expect(reply).toMatchObject({ t: "ok" });
    expect(reply.exp).toBeGreaterThan(notice.exp + 50_000);
    await new Promise((r) => setTimeout(r, Math.max(0, notice.exp - Date.now()) + 1_000));
    expect(c.closeInfo).toBeUndefined();
    expect(await c.ask({ t: "ping" })).toMatchObject({ t: "pong" });
  });

  test("auth - a token of another user on an open connection is forbidden and changes nothing", async () => {
    const c = await connect("tl-me", 60);
    const r = await c.request({ t: "auth", id: 7, token: await token("tl-other", 60) });
    expect(r).toMatchObject({ t: "err", id: 7, code: "forbidden" });
    const bad = await c.request({ t: "auth", id: 8, token: "not-a-jwt" });
    expect(bad).toMatchObject({ t: "err", id: 8, code: "unauthenticated" });
    expect(await c.ask({ t: "ping" })).toMatchObject({ t: "pong" });
    expect(c.closeInfo).toBeUndefined();
  });
});
