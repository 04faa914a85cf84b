import { expect } from "vitest";
import { httpJson } from "./harness/http.ts";
import { type ConformanceEnv, publish, type PublishVia, type Receiver, type ReceiverTransport, trimThrough } from "./harness/transport_clients.ts";
import { WsClient } from "./harness/ws_client.ts";

/**
 * The transport conformance suite: the same guarantee cases over every receiving transport
 * (WebSocket, SSE, long-poll, `/api/sync`), run by tests/transports.test.ts on one node and on a
 * 3-node cluster. Each case is a plain function so a deliberately broken server can be shown to
 * fail it. Successive requests of a client go to different nodes where there are several: the
 * publishers each use another node, a resume goes to the next node, and the polling receivers
 * move to the next node at every request.
 */
export type Case = (env: ConformanceEnv, t: ReceiverTransport, run: string) => Promise<void>;

const next = (env: ConformanceEnv, i: number) => (i + 1) % env.nodes;

async function channel(env: ConformanceEnv, owner: string, name: string, members: string[], visibility: "public" | "private" = "public"): Promise<void> {
  const r = await httpJson(`${env.url(0)}/channels`, "POST", { token: await env.token(owner), body: { name, visibility, members } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
}

const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

async function closing<T>(r: Receiver, body: (r: Receiver) => Promise<T>): Promise<T> {
  try {
    return await body(r);
  } finally {
    await r.close();
  }
}

/** G1: three publishers (WebSocket, `POST /cmd`, REST; each on its own node) at once: one gapless order, each publisher's messages in its order. */
export const g1ConcurrentOrder: Case = async (env, t, run) => {
  const ch = `g1-${run}`;
  const pubs = [`${run}p0`, `${run}p1`, `${run}p2`];
  await channel(env, `${run}r`, ch, pubs);
  const rx = await t.open(env, `${run}r`, ch, 0, 0);
  await closing(rx, async () => {
    const ws = await WsClient.connect(env.url(0).replace("http", "ws") + "/ws", await env.token(pubs[0]!));
    const ways: PublishVia[] = ["ws", "cmd", "rest"];
    const PER = 15;
    const acks = await Promise.all(ways.map(async (how, p) => {
      const seqs: number[] = [];
      for (let i = 0; i < PER; i++) seqs.push((await publish(env, how, p % env.nodes, pubs[p]!, ch, `${how}-${i}`, `${p}:${i}`, ws)).seq);
      return seqs;
    }));
    await ws.close();
    await rx.waitFor(() => rx.seqs().length >= 3 * PER, `${3 * PER} messages over ${t.name}`);
    expect(rx.seqs()).toEqual(upTo(3 * PER));
    // Each publisher's acks increase: its messages kept their order in the channel.
    for (const a of acks) expect([...a].sort((x, y) => x - y)).toEqual(a);
    expect(new Set(acks.flat()).size).toBe(3 * PER);
  });
};

/** G3: a publish retried over the other transports, on other nodes, keeps its first seq and is delivered once. */
export const g3RetriesAcrossTransports: Case = async (env, t, run) => {
  const ch = `g3-${run}`;
  await channel(env, `${run}r`, ch, [`${run}p`]);
  const rx = await t.open(env, `${run}r`, ch, 0, 0);
  await closing(rx, async () => {
    const ws = await WsClient.connect(env.url(0).replace("http", "ws") + "/ws", await env.token(`${run}p`));
    const first = await publish(env, "ws", 0, `${run}p`, ch, "same-cid", "once", ws);
    const viaCmd = await publish(env, "cmd", next(env, 0), `${run}p`, ch, "same-cid", "once");
    const viaRest = await publish(env, "rest", next(env, 1), `${run}p`, ch, "same-cid", "once");
    const after = await publish(env, "ws", 0, `${run}p`, ch, "other-cid", "after", ws);
    await ws.close();
    expect(first).toEqual({ seq: 1, dup: false });
    expect(viaCmd).toEqual({ seq: 1, dup: true });
    expect(viaRest).toEqual({ seq: 1, dup: true });
    expect(after.seq).toBe(2);
    await rx.waitFor(() => rx.seqs().includes(2), `seq 2 over ${t.name}`);
    expect(rx.seqs()).toEqual([1, 2]);
  });
};

/** G4: a receiver dropped mid-stream resumes (on another node) from its own position: every message once, then live. */
export const g4ResumeAfterDrop: Case = async (env, t, run) => {
  const ch = `g4-${run}`;
  const user = `${run}r`;
  await channel(env, user, ch, [`${run}p`]);
  const pub = (i: number) => publish(env, "rest", i % env.nodes, `${run}p`, ch, `c${i}`, `m${i}`);
  const rx = await t.open(env, user, ch, 0, 0);
  await closing(rx, async () => {
    for (let i = 1; i <= 5; i++) await pub(i);
    await rx.waitFor(() => rx.seqs().length >= 5, `seqs 1-5 over ${t.name}`);
    await rx.drop();
    for (let i = 6; i <= 10; i++) await pub(i);
    await rx.resume(next(env, 0));
    for (let i = 11; i <= 15; i++) await pub(i);
    await rx.waitFor(() => rx.seqs().length >= 15, `seqs 1-15 over ${t.name}`, 20_000);
    expect(rx.seqs()).toEqual(upTo(15));
    expect(rx.truncated()).toBe(false);
  });
};

/** G4 past retained history: a position older than the retained journal is told so (`truncated`), never silently partial. */
export const g4PastRetainedHistory: Case = async (env, t, run) => {
  const ch = `g4t-${run}`;
  await channel(env, `${run}r`, ch, [`${run}p`]);
  for (let i = 1; i <= 10; i++) await publish(env, "rest", 0, `${run}p`, ch, `c${i}`, `m${i}`);
  await trimThrough(env, `${run}r`, ch, 4);
  const rx = await t.open(env, `${run}r`, ch, 0, next(env, 0));
  await closing(rx, async () => {
    await rx.waitFor(() => rx.seqs().includes(10), `seq 10 over ${t.name}`);
    expect(rx.truncated()).toBe(true);
    expect(rx.seqs()).toEqual([5, 6, 7, 8, 9, 10]);
  });
};

/** G7: malformed input on the transport's own request is a typed error, and the server still serves. */
export const g7BadInput: Case = async (env, t, run) => {
  const token = await env.token(`${run}u`);
  const base = env.url(next(env, 0));
  const bad: Record<string, () => Promise<{ status: number; body: unknown }>> = {
    websocket: async () => {
      const c = await WsClient.connect(base.replace("http", "ws") + "/ws", token);
      const f = await c.request({ t: "sub", ch: "no spaces allowed" });
      await c.close();
      return { status: f["code"] === "bad_request" ? 400 : 0, body: f };
    },
    sse: () => httpJson(`${base}/sse?ch=${encodeURIComponent("bad name:x")}&token=${token}`, "GET"),
    "long-poll": () => httpJson(`${base}/poll?ch=ok:1&wait=99`, "GET", { token }),
    "api-sync": () => httpJson(`${base}/api/sync/poll?since=not-a-cursor`, "GET", { token }),
  };
  const r = await bad[t.name]!();
  expect(r.status, JSON.stringify(r.body)).toBe(400);
  expect(JSON.stringify(r.body)).toContain("bad_request");
  expect((await httpJson(`${base}/healthz`, "GET")).status).toBe(200);
};

/** G8: an outsider cannot receive a private channel; without a token, nothing is served. */
export const g8Access: Case = async (env, t, run) => {
  const ch = `g8-${run}`;
  await channel(env, `${run}o`, ch, [], "private");
  await publish(env, "rest", 0, `${run}o`, ch, "secret", "secret");
  if (t.name === "api-sync") {
    // The sync poll reads only the caller's own channels: the outsider's cursor naming it gets nothing.
    const rx = await t.open(env, `${run}x`, ch, 0, 0);
    await closing(rx, async () => {
      const token = await env.token(`${run}x`);
      const r = await httpJson(`${env.url(0)}/api/sync/poll?since=0`, "GET", { token });
      expect(JSON.stringify(r.body)).not.toContain("secret");
      expect(rx.seqs()).toEqual([]);
    });
    expect((await httpJson(`${env.url(0)}/api/sync/poll?since=0`, "GET")).status).toBe(401);
    return;
  }
  await expect(t.open(env, `${run}x`, ch, 0, next(env, 0))).rejects.toThrow(/channel_not_found|404/);
  const anon = t.name === "websocket" ? `${env.url(0)}/ws` : `${env.url(0)}/${t.name === "sse" ? "sse" : "poll"}?ch=${ch}:0`;
  if (t.name !== "websocket") expect((await httpJson(anon, "GET")).status).toBe(401);
  else await expect(WsClient.connect(anon.replace("http", "ws"), "not-a-token")).rejects.toThrow(/401/);
};

export const CASES: Record<string, Case> = {
  "G1 concurrent publishers over three transports: one gapless order": g1ConcurrentOrder,
  "G3 a retry over another transport and node keeps its first seq": g3RetriesAcrossTransports,
  "G4 resume after a drop, on another node: no gap, no duplicate": g4ResumeAfterDrop,
  "G4 a position past retained history is reported truncated": g4PastRetainedHistory,
  "G7 bad input is a typed error": g7BadInput,
  "G8 outsiders and anonymous clients receive nothing": g8Access,
};
