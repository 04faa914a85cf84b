import { connect as tcpConnect } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import { type StormProcess, startStorm } from "./harness/storm_process.ts";
import { pipelined, WsClient } from "./harness/ws_client.ts";

/**
 * The sharp edges of G4, G7 and G8: size limits answered with their own code, malformed paths,
 * a reply to every request, resume positions past the end, private channels that cannot be told
 * apart from missing ones, membership enforced on every socket of a user, operator-only status,
 * and sockets that never authenticate. The node runs with a 1.5 s heartbeat window.
 */
let node: StormProcess;
const clients: WsClient[] = [];
const HEARTBEAT_MS = 1_500;
const AUTH_TIMEOUT_MS = 1_000;

beforeAll(async () => {
  node = await startStorm({ workers: 2, args: ["--dev-admin", "--heartbeat-ms", String(HEARTBEAT_MS), "--auth-timeout-ms", String(AUTH_TIMEOUT_MS)] });
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await node?.stop();
});

async function connect(user: string | undefined): Promise<WsClient> {
  const c = await WsClient.connect(node.wsUrl, user === undefined ? undefined : await node.token(user));
  clients.push(c);
  return c;
}

async function createChannel(owner: string, name: string, visibility: "public" | "private" = "public"): Promise<void> {
  const r = await node.http("POST", "/channels", { token: await node.token(owner), body: { name, visibility } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
}

describe("G7 limits", () => {
  test("edge - a body over its size limit gets too_large", async () => {
    await createChannel("lim1", "lim-body");
    const c = await connect("lim1");
    // ERROR_CODES: too_large = "A frame, body or field exceeds its size limit."
    expect(await c.request({ t: "pub", ch: "lim-body", cid: "big", body: "b".repeat(16 * 1024 + 1) })).toMatchObject({ t: "err", code: "too_large" });
    const token = await node.token("lim1");
    const r = await node.http("POST", "/channels/lim-body/messages", { token, body: { clientId: "big", body: "b".repeat(16 * 1024 + 1) } });
    expect(r).toMatchObject({ status: 413, body: { error: { code: "too_large" } } });
  });

  test("edge - text PostgreSQL cannot store (NUL, lone surrogate) is refused up front, not retried forever", async () => {
    await createChannel("lim4", "lim-text");
    const c = await connect("lim4");
    expect(await c.request({ t: "pub", ch: "lim-text", cid: "nul", body: "a\u0000b" })).toMatchObject({ t: "err", code: "bad_request" });
    expect(await c.request({ t: "pub", ch: "lim-text", cid: "sur", body: "a\uD800b" })).toMatchObject({ t: "err", code: "bad_request" });
    expect(await c.ask({ t: "pub", ch: "lim-text", cid: "ok", body: "emoji 😀 ok" })).toMatchObject({ t: "ack", seq: 1 });
  });

  test("edge - a malformed URL path gets bad_request", async () => {
    const token = await node.token("lim3");
    expect(await node.http("GET", "/channels/%ZZ/messages", { token })).toMatchObject({ status: 400, body: { error: { code: "bad_request" } } });
  });

  test("edge - a wrong method on an existing route gets 405 method_not_allowed with the route's methods in Allow", async () => {
    const res = await fetch(`${node.url}/channels/x/messages`, { method: "PUT" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, POST");
    expect(await res.json()).toMatchObject({ error: { code: "method_not_allowed", retry: "never" } });
    expect(await node.http("PATCH", "/no/such/route")).toMatchObject({ status: 404, body: { error: { code: "not_found" } } });
  });

  test("edge - a query parameter the route does not know is refused, not ignored", async () => {
    await createChannel("lim5", "lim-query");
    const token = await node.token("lim5");
    expect(await node.http("GET", "/channels/lim-query/messages?after=0", { token })).toMatchObject({ status: 200 });
    expect(await node.http("GET", "/channels/lim-query/messages?afterr=0", { token })).toMatchObject({ status: 400, body: { error: { code: "bad_request" } } });
  });

  test("edge - a REST body that is not valid UTF-8 is refused, not stored altered", async () => {
    await createChannel("lim6", "lim-utf8");
    const token = await node.token("lim6");
    const bytes = Buffer.concat([Buffer.from('{"clientId":"u1","body":"a'), Buffer.from([0xff, 0xfe]), Buffer.from('b"}')]);
    const res = await fetch(`${node.url}/channels/lim-utf8/messages`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: bytes });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: "bad_request" } });
    expect(await node.http("GET", "/channels/lim-utf8/messages?after=0", { token })).toMatchObject({ status: 200, body: { messages: [] } });
  });

  test("edge - a WebSocket message over 64 KiB gets too_large and the connection survives", async () => {
    await createChannel("lim2", "lim-frame");
    const c = await connect("lim2");
    c.send({ t: "pub", id: 1, ch: "lim-frame", cid: "huge", body: "h".repeat(70_000) });
    await c.waitFor(() => c.closeInfo !== undefined || c.frames.some((f) => f.t === "err"), 5_000, "an answer to a 70 kB message");
    expect(c.closeInfo, "the socket was closed instead of answering").toBeUndefined();
    expect(c.frames.find((f) => f.t === "err")).toMatchObject({ code: "too_large" });
    expect(await c.ask({ t: "pub", ch: "lim-frame", cid: "small", body: "s" })).toMatchObject({ t: "ack", seq: 1 });
  });

  test("edge - clients that reset their connection while their WebSocket upgrade is refused leave the node running", async () => {
    // A refused upgrade (here a bad `enc`; a rejoining node refuses every one with 503) is answered
    // on the raw socket, which Node's HTTP server leaves without an error listener after `upgrade`:
    // a client's RST there (a handshake timeout, a load balancer) was an uncaught error that
    // ended the process (Storm Day: nodes exited 1 while rejoining).
    for (let i = 0; i < 20; i++) {
      const sock = tcpConnect(node.port, "127.0.0.1");
      sock.on("error", () => {});
      await new Promise((r) => sock.once("connect", r));
      sock.write(`GET /ws?enc=bogus HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      sock.resetAndDestroy();
    }
    expect((await node.http("GET", "/livez")).status, node.stderr().slice(-2_000)).toBe(200);
    expect(node.proc.exitCode).toBeNull();
  });
});

describe("G4 edges", () => {
  test("subscriber - a resume position beyond the channel's last seq is never a silent gap", async () => {
    const ch = "lim-ahead";
    await createChannel("ahead", ch);
    const pub = await connect("ahead");
    for (let i = 1; i <= 3; i++) await pub.ask({ t: "pub", ch, cid: `a${i}`, body: "x" });
    // A client holding a position from another life of the channel (or a bug) claims seq 10,
    // while publishes that will take seqs 4..30 are in flight.
    const sub = await connect("ahead");
    const publishing = pipelined(27, 3, (i) => pub.ask({ t: "pub", ch, cid: `b${i}`, body: "x" }));
    const reply = await sub.request({ t: "sub", ch, after: 10 });
    await publishing;
    if (reply.t === "err") return; // Refused explicitly: acceptable.
    expect(reply.t).toBe("subbed");
    const last = reply["last"] as number;
    expect(last).toBeLessThanOrEqual(10);
    // Accepted: then every message after the channel's real last seq must arrive.
    await sub.waitFor(() => sub.seqs(ch).at(-1) === 30, 10_000, "seq 30");
    await sub.ask({ t: "ping" });
    expect(sub.seqs(ch)).toEqual(Array.from({ length: 30 - last }, (_, i) => last + 1 + i));
  });

  test("edge - every sub request gets a reply, even when a later sub on the same channel supersedes it", async () => {
    const ch = "lim-resub";
    await createChannel("resub", ch);
    const c = await connect("resub");
    const first = c.request({ t: "sub", ch, after: 0 }, 5_000);
    const second = await c.request({ t: "sub", ch, after: 0 });
    expect(second.t).toBe("subbed");
    // "Every request frame with an id gets exactly one reply frame with that id" (frame_handler.ts).
    expect((await first.catch((e: Error) => ({ t: `none: ${e.message}` }))).t).toMatch(/^(subbed|ok|err)$/);
  });
});

describe("compact msgs frames (?enc=compact)", () => {
  test("edge - a compact socket gets the same messages as a JSON one, catch-up and live, through a first-frame auth too", async () => {
    const ch = "lim-compact";
    await createChannel("cmp", ch);
    const pub = await connect("cmp");
    for (let i = 1; i <= 5; i++) await pub.ask({ t: "pub", ch, cid: `h${i}`, body: `history ${i} "quoted" é` });
    const json = await connect("cmp");
    const compact = await WsClient.connect(node.wsUrl, await node.token("cmp"), 10_000, "compact");
    const late = await WsClient.connect(node.wsUrl, undefined, 10_000, "compact");
    clients.push(compact, late);
    late.send({ t: "auth", token: await node.token("cmp") });
    await late.waitFor(() => late.welcome !== undefined, 10_000, "welcome");
    for (const c of [json, compact, late]) await c.ask({ t: "sub", ch, after: 2 });
    await pipelined(20, 4, (i) => pub.ask({ t: "pub", ch, cid: `l${i}`, body: `live ${i}` }));
    for (const c of [json, compact, late]) await c.waitForCount(ch, 23);
    const expected = json.messages(ch).map(({ cid: _cid, ...m }) => ({ ...m, cid: "" }));
    expect(expected.map((m) => m.seq)).toEqual(Array.from({ length: 23 }, (_, i) => 3 + i));
    expect(compact.messages(ch)).toEqual(expected);
    expect(late.messages(ch)).toEqual(expected);
    // On the wire: rows, not objects.
    const firstFrame = compact.frames.find((f) => f.t === "msgs")!;
    expect(firstFrame["seq"]).toBe(3);
    expect(firstFrame["m"][0]).toEqual([expect.any(Number), "cmp", `history 3 "quoted" é`]);
  });

  test("edge - an unknown encoding is refused at upgrade with a typed bad_request", async () => {
    const refused = await new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
      const ws = new WebSocket(`${node.wsUrl}?enc=msgpack`);
      ws.once("open", () => reject(new Error("upgraded")));
      ws.once("error", () => {});
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString("utf8")));
        res.on("end", () => resolve({ status: res.statusCode, body }));
      });
    });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: "bad_request", message: expect.stringContaining("msgpack") } });
  });
});

describe("G8 edges", () => {
  test("channel - outsiders get the same answers for a private channel as for a missing one", async () => {
    await createChannel("boss", "lim-private", "private");
    const eve = await connect("eve3");
    const answers = async (ch: string) => ({
      join: (await eve.request({ t: "join", ch }))["code"],
      sub: (await eve.request({ t: "sub", ch, after: 0 }))["code"],
      pub: (await eve.request({ t: "pub", ch, cid: "x", body: "x" }))["code"],
      hist: (await eve.request({ t: "hist", ch, after: 0 }))["code"],
      info: (await eve.request({ t: "info", ch }))["code"],
      members: (await eve.request({ t: "members", ch }))["code"],
    });
    const missing = await answers("lim-nothing-here");
    expect(missing).toEqual({ join: "channel_not_found", sub: "channel_not_found", pub: "channel_not_found", hist: "channel_not_found", info: "channel_not_found", members: "channel_not_found" });
    expect(await answers("lim-private")).toEqual(missing);
  });

  test("channel - a member who leaves stops receiving the channel on every socket", async () => {
    const ch = "lim-leave";
    await createChannel("lowner", ch);
    const owner = await connect("lowner");
    await owner.ask({ t: "sub", ch, after: 0 });
    const phone = await connect("leaver");
    const laptop = await connect("leaver");
    await phone.ask({ t: "join", ch });
    await laptop.ask({ t: "sub", ch, after: 0 });
    await owner.ask({ t: "pub", ch, cid: "before", body: "seen by members" });
    await laptop.waitForCount(ch, 1);

    await phone.ask({ t: "leave", ch });
    await owner.ask({ t: "pub", ch, cid: "after", body: "members only" });
    await owner.waitForCount(ch, 2);
    // The edge queued any delivery to the laptop before the pong of this ping.
    await laptop.ask({ t: "ping" });
    expect(laptop.messages(ch).map((m) => m.cid)).toEqual(["before"]);
  });

  test("edge - node status, which names every actor, is for admins only", async () => {
    const user = await node.http("GET", "/status", { token: await node.token("nosy") });
    expect(user).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } });
    const admin = await node.http("POST", "/auth/dev-token", { body: { user: "root", role: "admin" } });
    expect((await node.http("GET", "/status", { token: admin.body.token })).status).toBe(200);
  });

  test("edge - frames pipelined behind an auth frame run after it, in order, and the auth timer no longer applies", async () => {
    await createChannel("late", "lim-late-auth");
    const c = await connect(undefined);
    // No waiting between frames: join and publish arrive while the token is still being verified.
    c.send({ t: "auth", token: await node.token("late") });
    c.send({ t: "join", id: 1, ch: "lim-late-auth" });
    c.send({ t: "pub", id: 2, ch: "lim-late-auth", cid: "late-1", body: "x" });
    const ack = await c.waitForFrame((f) => f.id === 2);
    expect(ack).toMatchObject({ t: "ack", seq: 1 });
    const replies = c.frames.filter((f) => f.id === 1 || f.id === 2).map((f) => `${f.id}:${f.t}`);
    expect(replies).toEqual(["1:ok", "2:ack"]);
    // welcome is not ordered with replies (PROTOCOL.md): it waits for the session's unread counts.
    await c.waitForFrame((f) => f.t === "welcome", 10_000, "welcome");
    await new Promise((r) => setTimeout(r, AUTH_TIMEOUT_MS * 2));
    expect(c.closeInfo).toBeUndefined();
    expect(await c.publish("lim-late-auth", "late-2", "y")).toMatchObject({ t: "ack", seq: 2 });
  });

  test("edge - a socket that never authenticates is closed with unauthenticated", async () => {
    const anon = await connect(undefined);
    const { code } = await anon.closed(AUTH_TIMEOUT_MS * 5);
    expect(code).toBe(4001);
  });
});
