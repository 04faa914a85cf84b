import { afterAll, beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import { type StormProcess, startStorm } from "./harness/storm_process.ts";
import { WsClient } from "./harness/ws_client.ts";

/**
 * Where an independent client found docs/PROTOCOL.md and the node disagreeing: each test is the
 * documented behaviour, checked against a real node.
 */
let node: StormProcess;
const clients: WsClient[] = [];

beforeAll(async () => {
  node = await startStorm({ workers: 1, args: ["--dev-admin"] });
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await node?.stop();
});

async function connect(user: string): Promise<WsClient> {
  const c = await WsClient.connect(node.wsUrl, await node.token(user));
  clients.push(c);
  return c;
}

describe("protocol as documented", () => {
  test("protocol - ping without id is answered by a pong without id", async () => {
    const c = await connect("doc-ping");
    c.send({ t: "ping" });
    const pong = await c.waitForFrame((f) => f.t === "pong", 5_000, "pong");
    expect(pong.id).toBeUndefined();
    expect(typeof pong.ts).toBe("number");
  });

  test("protocol - NUL and lone surrogates in body, topic and cid are refused with a schema message", async () => {
    const c = await connect("doc-chars");
    await c.ask({ t: "create", ch: "doc-chars" });
    for (const [frame, field] of [
      [{ t: "pub", ch: "doc-chars", cid: "a", body: "x\u0000y" }, "body"],
      [{ t: "pub", ch: "doc-chars", cid: "a\ud800", body: "x" }, "cid"],
      [{ t: "topic", ch: "doc-chars", topic: "\udc00" }, "topic"],
    ] as const) {
      const r = await c.request(frame);
      expect(r).toMatchObject({ t: "err", code: "bad_request", message: expect.stringContaining(`at "/${field}": Expected string to match`) });
    }
  });

  test("protocol - a text message that is not UTF-8 closes the connection with 1007", async () => {
    const ws = new WebSocket(`${node.wsUrl}?token=${await node.token("doc-utf8")}`);
    await new Promise((r) => ws.once("open", r));
    const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
    ws.send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), { binary: false });
    expect(await closed).toBe(1007);
  });

  test("protocol - read on a missing channel or one the user is not in is refused and not stored; a member's is clamped to the last seq", async () => {
    const owner = await connect("doc-reader");
    await owner.ask({ t: "create", ch: "doc-read" });
    await owner.publish("doc-read", "r1", "one");
    const stranger = await connect("doc-stranger");
    expect(await stranger.request({ t: "read", ch: "doc-nowhere", seq: 5 })).toMatchObject({ t: "err", code: "channel_not_found" });
    expect(await stranger.request({ t: "read", ch: "doc-read", seq: 1 })).toMatchObject({ t: "err", code: "not_member" });
    expect(await owner.ask({ t: "read", ch: "doc-read", seq: 1_000 })).toMatchObject({ t: "ok", ch: "doc-read" });
    const strangerMe = await node.http("GET", "/users/me", { token: await node.token("doc-stranger") });
    expect(strangerMe.body.reads).toEqual({});
    const ownerMe = await node.http("GET", "/users/me", { token: await node.token("doc-reader") });
    expect(ownerMe.body.reads).toEqual({ "doc-read": 1 });
  });

  test("protocol - a pub to a channel that does not exist is refused and leaves no activation behind", async () => {
    const c = await connect("doc-ghost");
    expect(await c.publish("doc-never-created", "g1", "boo")).toMatchObject({ t: "err", code: "channel_not_found" });
    const admin = await node.http("POST", "/auth/dev-token", { body: { user: "doc-ops", role: "admin" } });
    const status = await node.http("GET", "/status", { token: admin.body.token });
    const ids = (status.body.actors as Array<{ id: string }>).map((a) => a.id);
    expect(ids).toContain("session:doc-ghost");
    expect(ids).not.toContain("channel:doc-never-created");
  });
});
