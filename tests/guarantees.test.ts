import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type StormProcess, startStorm } from "./harness/storm_process.ts";
import { type Msg, pipelined, WsClient } from "./harness/ws_client.ts";

/**
 * The contract (G1, G3, G4, G7, G8) checked end to end: real WebSocket clients against a real node
 * process with 2 actor workers and the embedded store. Durability across SIGKILL (G2) is in
 * `g2_durability.test.ts`; placement over workers in `workers.test.ts`; the input limits and
 * private-channel visibility in `edge_limits.test.ts`.
 */
let node: StormProcess;
const clients: WsClient[] = [];

beforeAll(async () => {
  node = await startStorm({ workers: 2 });
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

async function createChannel(owner: string, name: string, visibility: "public" | "private" = "public"): Promise<void> {
  const r = await node.http("POST", "/channels", { token: await node.token(owner), body: { name, visibility } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
}

/** Every page of `GET /channels/<ch>/messages?after=`, in order. */
async function history(ch: string, user: string): Promise<Msg[]> {
  const token = await node.token(user);
  const out: Msg[] = [];
  for (let after = 0, pages = 0; pages < 100; pages++) {
    const r = await node.http("GET", `/channels/${ch}/messages?after=${after}&limit=500`, { token });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    out.push(...(r.body.messages as Msg[]));
    if (!r.body.more || r.body.messages.length === 0) break;
    after = out[out.length - 1]!.seq;
  }
  return out;
}

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/** A ping round trip: every frame the server queued on this socket before it has arrived. */
const drain = (c: WsClient) => c.ask({ t: "ping" });

describe("G1 order", () => {
  test("channel - concurrent publishers get one gapless order seen identically by every subscriber", async () => {
    const ch = "g1-order";
    await createChannel("g1owner", ch);
    const subs = await Promise.all([1, 2, 3].map((i) => connect(`g1sub${i}`)));
    const pubs = await Promise.all([1, 2, 3, 4, 5].map((i) => connect(`g1pub${i}`)));
    for (const c of [...subs, ...pubs]) await c.ask({ t: "join", ch });
    for (const s of subs) expect((await s.ask({ t: "sub", ch, after: 0 })).last).toBe(0);

    const PER = 200;
    const acks = await Promise.all(
      pubs.map((p, j) => pipelined(PER, 16, async (i) => ({ cid: `p${j}-${i}`, ack: await p.publish(ch, `p${j}-${i}`, `m ${j} ${i}`) }))),
    );
    const total = pubs.length * PER;
    const flat = acks.flat();
    for (const { ack } of flat) expect(ack.t, JSON.stringify(ack)).toBe("ack");
    expect(flat.filter((a) => a.ack["dup"]).length).toBe(0);
    expect(flat.map((a) => a.ack["seq"] as number).sort((a, b) => a - b)).toEqual(range(1, total));

    for (const s of subs) await s.waitForCount(ch, total, 30_000);
    for (const s of subs) await drain(s);
    const reference = new Map(subs[0]!.messages(ch).map((m) => [m.seq, m.cid]));
    for (const s of subs) {
      expect(s.seqs(ch)).toEqual(range(1, total));
      expect(new Map(s.messages(ch).map((m) => [m.seq, m.cid]))).toEqual(reference);
    }
    for (const { cid, ack } of flat) expect(reference.get(ack["seq"] as number)).toBe(cid);
  }, 60_000);
});

describe("G3 exactly-once", () => {
  test("channel - a retried publish keeps its first seq and appends nothing", async () => {
    const ch = "g3-retry";
    await createChannel("g3alice", ch);
    let a = await connect("g3alice");
    const first = await a.ask({ t: "pub", ch, cid: "retry-1", body: "hello" });
    expect(first["dup"]).toBeUndefined();
    const again = await a.ask({ t: "pub", ch, cid: "retry-1", body: "hello (retry)" });
    expect(again).toMatchObject({ t: "ack", seq: first["seq"], dup: true });
    const next = await a.ask({ t: "pub", ch, cid: "other-1", body: "x" });
    expect(next["seq"]).toBe(first["seq"] + 1);

    // Two copies of one publish in a single WebSocket message: one append, both acked with its seq.
    a.send([{ t: "pub", id: 9001, ch, cid: "twin", body: "t" }, { t: "pub", id: 9002, ch, cid: "twin", body: "t" }]);
    const [t1, t2] = await Promise.all([9001, 9002].map((id) => a.waitForFrame((f) => f.id === id && f.t !== "msgs")));
    expect(t1!.t).toBe("ack");
    expect(t2!["seq"]).toBe(t1!["seq"]);
    expect([t1!["dup"], t2!["dup"]].filter(Boolean).length).toBe(1);

    // After a reconnect, as an offline queue replays.
    await a.close();
    a = await connect("g3alice");
    expect(await a.ask({ t: "pub", ch, cid: "retry-1", body: "hello" })).toMatchObject({ seq: first["seq"], dup: true });

    // Over REST: 201 then 200, one seq; and ids are shared between REST and WebSocket.
    const token = await node.token("g3alice");
    const r1 = await node.http("POST", `/channels/${ch}/messages`, { token, body: { clientId: "rest-1", body: "r" } });
    expect(r1.status).toBe(201);
    const r2 = await node.http("POST", `/channels/${ch}/messages`, { token, body: { clientId: "rest-1", body: "r" } });
    expect(r2.status).toBe(200);
    expect(r2.body).toMatchObject({ seq: r1.body.seq, duplicate: true });
    const r3 = await node.http("POST", `/channels/${ch}/messages`, { token, body: { clientId: "retry-1", body: "hello" } });
    expect(r3.status).toBe(200);
    expect(r3.body.seq).toBe(first["seq"]);
    expect(await a.ask({ t: "pub", ch, cid: "rest-1", body: "r" })).toMatchObject({ seq: r1.body.seq, dup: true });

    const h = await history(ch, "g3alice");
    expect(h.map((m) => m.cid)).toEqual(["retry-1", "other-1", "twin", "rest-1"]);
    expect(h.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    expect(h[0]!.body).toBe("hello");
  });
});

describe("G4 resume", () => {
  test("subscriber - resume after lastSeq receives exactly the missed messages, then live", async () => {
    const ch = "g4-resume";
    await createChannel("g4pub", ch);
    const pub = await connect("g4pub");
    let sub = await connect("g4sub");
    await sub.ask({ t: "join", ch });
    await sub.ask({ t: "sub", ch, after: 0 });
    const publish = (from: number, n: number) => pipelined(n, 8, (i) => pub.ask({ t: "pub", ch, cid: `m${from + i}`, body: `b${from + i}` }));

    const k = 10;
    await publish(1, k);
    await sub.waitForCount(ch, k);
    await sub.close();

    const m = 25;
    await publish(k + 1, m);
    sub = await connect("g4sub");
    const subbed = await sub.ask({ t: "sub", ch, after: k });
    expect(subbed).toMatchObject({ t: "subbed", last: k + m });
    expect(subbed["truncated"]).toBeUndefined();
    await sub.waitForCount(ch, m);
    await drain(sub);
    expect(sub.seqs(ch)).toEqual(range(k + 1, k + m));
    expect(sub.messages(ch).map((x) => x.cid)).toEqual(range(k + 1, k + m).map((i) => `m${i}`));

    await publish(k + m + 1, 5);
    await sub.waitForCount(ch, m + 5);
    await drain(sub);
    expect(sub.seqs(ch)).toEqual(range(k + 1, k + m + 5));
  });

  test("subscriber - resume across several history pages while others publish has no gap and no duplicate", async () => {
    const ch = "g4-pages";
    await createChannel("g4bpub", ch);
    const pub = await connect("g4bpub");
    const sub = await connect("g4bsub");
    await sub.ask({ t: "join", ch });
    await pipelined(1200, 32, (i) => pub.ask({ t: "pub", ch, cid: `a${i}`, body: "x" }));
    // Live publishes race the catch-up (the edge pages 500 at a time).
    const live = pipelined(300, 4, (i) => pub.ask({ t: "pub", ch, cid: `b${i}`, body: "y" }));
    await sub.ask({ t: "sub", ch, after: 7 });
    await live;
    await sub.waitForCount(ch, 1500 - 7, 30_000);
    await drain(sub);
    expect(sub.seqs(ch)).toEqual(range(8, 1500));
  }, 60_000);
});

describe("G7 bad input", () => {
  test("edge - bad frames get typed errors and the connection survives", async () => {
    const ch = "g7-bad";
    await createChannel("g7alice", ch);
    const c = await connect("g7alice");
    const errs = () => c.frames.filter((f) => f.t === "err");

    c.send("{not json");
    const bad = await c.waitForFrame((f) => f.t === "err", 5_000, "error for invalid JSON");
    expect(bad).toMatchObject({ code: "bad_request", retry: "never" });
    expect(bad.id).toBeUndefined();

    expect(await c.request({ t: "nope" })).toMatchObject({ t: "err", code: "bad_request" });
    expect(await c.request({ t: "pub", ch, cid: "x" })).toMatchObject({ t: "err", code: "bad_request" });
    expect(await c.request({ t: "pub", ch, cid: "x", body: 42 })).toMatchObject({ t: "err", code: "bad_request" });
    expect(await c.request({ t: "pub", ch, cid: "x", body: "b", extra: 1 })).toMatchObject({ t: "err", code: "bad_request" });
    expect(await c.request({ t: "sub", ch: "../etc", after: -1 })).toMatchObject({ t: "err", code: "bad_request" });
    expect(await c.request({ t: "pub", ch, cid: "x", body: "b".repeat(16 * 1024 + 1) })).toMatchObject({ t: "err", code: expect.stringMatching(/^(bad_request|too_large)$/) });
    c.send(JSON.stringify(Array.from({ length: 257 }, () => ({ t: "ping" }))));
    await c.waitFor(() => errs().some((f) => f.code === "too_large"), 5_000, "too_large for 257 frames");
    c.send(Buffer.from(JSON.stringify({ t: "ping", id: 650 })));
    c.send("null");
    c.send("[]");
    c.send('"str"');

    // One bad frame in an array fails alone; its neighbours run.
    c.send([{ t: "pub", id: 700, ch, cid: "ok-1", body: "fine" }, { t: "pub", id: 701 }]);
    expect(await c.waitForFrame((f) => f.id === 700)).toMatchObject({ t: "ack", seq: 1 });
    expect(await c.waitForFrame((f) => f.id === 701)).toMatchObject({ t: "err", code: "bad_request" });

    expect(c.closeInfo).toBeUndefined();
    expect(await c.ask({ t: "pub", ch, cid: "ok-2", body: "still works" })).toMatchObject({ t: "ack", seq: 2 });
    for (const e of errs()) expect(["bad_request", "too_large"]).toContain(e.code);
    const h = await history(ch, "g7alice");
    expect(h.map((m) => m.cid)).toEqual(["ok-1", "ok-2"]);
  });
});

describe("G8 access", () => {
  test("channel - non-members can neither publish nor subscribe", async () => {
    const ch = "g8-members";
    await createChannel("g8owner", ch);
    const owner = await connect("g8owner");
    await owner.ask({ t: "sub", ch, after: 0 });
    const eve = await connect("g8eve");
    expect(await eve.request({ t: "pub", ch, cid: "e1", body: "intrude" })).toMatchObject({ t: "err", code: "not_member" });
    expect(await eve.request({ t: "sub", ch, after: 0 })).toMatchObject({ t: "err", code: "not_member" });
    expect(await eve.request({ t: "hist", ch, after: 0 })).toMatchObject({ t: "err", code: "not_member" });
    const token = await node.token("g8eve");
    expect((await node.http("POST", `/channels/${ch}/messages`, { token, body: { clientId: "e2", body: "x" } })).body.error.code).toBe("not_member");
    expect((await node.http("GET", `/channels/${ch}/messages?after=0`, { token })).status).toBe(403);

    // A member who leaves is an outsider again.
    await eve.ask({ t: "join", ch });
    await eve.ask({ t: "leave", ch });
    expect(await eve.request({ t: "pub", ch, cid: "e3", body: "x" })).toMatchObject({ t: "err", code: "not_member" });

    expect(await owner.ask({ t: "pub", ch, cid: "o1", body: "mine" })).toMatchObject({ seq: 1 });
    await owner.waitForCount(ch, 1);
    expect(owner.seqs(ch)).toEqual([1]);
    expect(eve.messages(ch)).toEqual([]);
  });

  test("channel - a private channel is invisible to outsiders", async () => {
    const ch = "g8-secret";
    await createChannel("g8boss", ch, "private");
    const token = await node.token("g8eve2");
    const eve = await connect("g8eve2");
    const listed = await node.http("GET", "/channels?limit=500", { token });
    expect(listed.body.channels.map((c: { name: string }) => c.name)).not.toContain(ch);
    expect((await node.http("GET", `/channels/${ch}`, { token })).body.error.code).toBe("channel_not_found");
    expect((await node.http("GET", `/channels/${ch}/members`, { token })).body.error.code).toBe("channel_not_found");
    expect(await eve.request({ t: "info", ch })).toMatchObject({ t: "err", code: "channel_not_found" });
    expect(await eve.request({ t: "join", ch })).toMatchObject({ t: "err" });
    expect(await eve.request({ t: "sub", ch, after: 0 })).toMatchObject({ t: "err" });
    expect(eve.welcome!["channels"]).not.toContain(ch);
  });

  test("edge - requests without a valid token are refused", async () => {
    expect(await node.http("GET", "/channels")).toMatchObject({ status: 401, body: { error: { code: "unauthenticated" } } });
    expect(await node.http("GET", "/channels", { token: "not-a-jwt" })).toMatchObject({ status: 401, body: { error: { code: "unauthenticated" } } });
    expect((await node.http("POST", "/channels/x/messages", { body: { clientId: "a", body: "b" } })).status).toBe(401);
    // A token signed with another secret.
    const forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImlzcyI6InN0b3JtIiwiZXhwIjo0MTAyNDQ0ODAwfQ.c2lnbmF0dXJlLW5vdC12YWxpZA";
    await expect(WsClient.connect(node.wsUrl, "not-a-jwt")).rejects.toThrow(/401/);
    await expect(WsClient.connect(node.wsUrl, forged)).rejects.toThrow(/401/);

    // Without a token the upgrade waits for an `auth` frame; anything else is refused and closed.
    const anon = await WsClient.connect(node.wsUrl, undefined);
    clients.push(anon);
    anon.send({ t: "pub", id: 1, ch: "g8-members", cid: "anon", body: "x" });
    expect(await anon.waitForFrame((f) => f.t === "err")).toMatchObject({ code: "unauthenticated" });
    expect((await anon.closed()).code).toBe(4001);
  });
});
