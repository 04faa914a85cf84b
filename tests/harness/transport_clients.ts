import { httpJson } from "./http.ts";
import { SseClient } from "./sse_client.ts";
import { type Frame, WsClient } from "./ws_client.ts";

/** Where the conformance suite runs: one node, or a cluster whose nodes a client rotates through. */
export interface ConformanceEnv {
  readonly nodes: number;
  /** `http://127.0.0.1:<port>` of node `i`. */
  url(i: number): string;
  token(user: string): Promise<string>;
  /** Drops journal entries up to `upto` (retention), where the test can reach the store; absent: cannot. */
  trim?(ch: string, upto: number): Promise<void>;
}

/**
 * A client receiving one channel over one transport. It keeps its own position (what a real client
 * keeps) and resumes from it after a drop, by its transport's own mechanism: `sub after` (WebSocket),
 * `Last-Event-ID` (SSE), `pos` (long-poll), `cursor` (`/api/sync`).
 */
export interface Receiver {
  /** Seqs received, in arrival order, duplicates kept. */
  seqs(): number[];
  /** Whether the server said the position was older than retained history. */
  truncated(): boolean;
  waitFor(cond: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Drops the connection (or stops polling) without telling the server. */
  drop(): Promise<void>;
  /** Reconnects (polls again) from its own position, through node `via`. */
  resume(via: number): Promise<void>;
  close(): Promise<void>;
}

export interface ReceiverTransport {
  readonly name: string;
  open(env: ConformanceEnv, user: string, ch: string, after: number, via: number): Promise<Receiver>;
}

/** Polls `cond` at every event the receiver sees; a shared shape for the polling receivers. */
class Waiters {
  readonly #set = new Set<() => void>();
  notify(): void {
    for (const w of [...this.#set]) w();
  }
  wait(cond: () => boolean, what: string, timeoutMs: number, describe: () => string): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!cond()) return;
        clearTimeout(timer);
        this.#set.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#set.delete(check);
        reject(new Error(`Timed out waiting for ${what}; ${describe()}`));
      }, timeoutMs);
      this.#set.add(check);
    });
  }
}

export const wsTransport: ReceiverTransport = {
  name: "websocket",
  async open(env, user, ch, after, via) {
    const token = await env.token(user);
    let c: WsClient;
    const seqs: number[] = [];
    let truncated = false;
    let pos = after;
    const waiters = new Waiters();
    const attach = async (i: number) => {
      c = await WsClient.connect(env.url(i).replace("http", "ws") + "/ws", token);
      c.onFrame = (f) => {
        if (f.t === "msgs" && f.ch === ch) for (const m of f["m"] as Array<{ seq: number }>) {
          seqs.push(m.seq);
          pos = m.seq;
        }
        if (f.t === "subbed" && f.ch === ch && f["truncated"]) truncated = true;
        waiters.notify();
      };
      const r = await c.request({ t: "sub", ch, after: pos });
      if (r.t === "err") throw Object.assign(new Error(`sub refused: ${r["code"]}`), { code: r["code"] });
    };
    await attach(via);
    return {
      seqs: () => seqs,
      truncated: () => truncated,
      waitFor: (cond, what, ms = 20_000) => waiters.wait(cond, what, ms, () => `seqs ${JSON.stringify(seqs)}`),
      drop: async () => c.terminate(),
      resume: (i) => attach(i),
      close: () => c.close(),
    };
  },
};

/** SSE, resuming as EventSource does: the same URL again, with `Last-Event-ID`. */
export const sseTransport: ReceiverTransport = {
  name: "sse",
  async open(env, user, ch, after, via) {
    const token = await env.token(user);
    let s: SseClient;
    const seqs: number[] = [];
    let truncated = false;
    let lastEventId: string | undefined;
    const waiters = new Waiters();
    const attach = async (i: number) => {
      // The original `ch=` position, as EventSource reopens the same URL: Last-Event-ID must win.
      s = await SseClient.open(env.url(i), `ch=${encodeURIComponent(`${ch}:${after}`)}&token=${token}`, { lastEventId });
      const take = ({ id, frame: f }: { id: string | undefined; frame: Frame }) => {
        if (f.t === "msgs" && f.ch === ch) for (const m of f["m"] as Array<{ seq: number }>) seqs.push(m.seq);
        if (f.t === "subbed" && f.ch === ch && f["truncated"]) truncated = true;
        if (id !== undefined) lastEventId = id;
        waiters.notify();
      };
      // Events that arrived before the hook was set, then every later one.
      for (const e of s.events) take(e);
      s.onEvent = take;
    };
    await attach(via);
    return {
      seqs: () => seqs,
      truncated: () => truncated,
      waitFor: (cond, what, ms = 20_000) => waiters.wait(cond, what, ms, () => `seqs ${JSON.stringify(seqs)}`),
      drop: async () => s.close(),
      resume: (i) => attach(i),
      close: async () => s.close(),
    };
  },
};

/** A loop of requests, each to the next node in turn (no sticky sessions). */
function pollingReceiver(env: ConformanceEnv, via: number, step: (node: number) => Promise<void>): { start(via: number): void; stop(): Promise<void>; errors: unknown[] } {
  let running: Promise<void> | undefined;
  let stopped = false;
  const errors: unknown[] = [];
  return {
    errors,
    start(from) {
      stopped = false;
      let node = from;
      running = (async () => {
        while (!stopped) {
          try {
            await step(node);
          } catch (err) {
            errors.push(err);
            if (errors.length > 20) return;
          }
          node = (node + 1) % env.nodes;
        }
      })();
    },
    async stop() {
      stopped = true;
      await running;
    },
  };
}

export const pollTransport: ReceiverTransport = {
  name: "long-poll",
  async open(env, user, ch, after, via) {
    const token = await env.token(user);
    const seqs: number[] = [];
    let truncated = false;
    let pos = `${ch}:${after}`;
    const waiters = new Waiters();
    // The first poll answers at once (wait=0) so an access refusal is reported by `open`.
    const first = await httpJson(`${env.url(via)}/poll?ch=${encodeURIComponent(pos)}&wait=0`, "GET", { token });
    if (first.status !== 200) throw Object.assign(new Error(`poll refused: ${first.status}`), { status: first.status });
    const take = (body: { frames: Frame[]; pos: string }) => {
      for (const f of body.frames) {
        if (f.t === "msgs" && f.ch === ch) for (const m of f["m"] as Array<{ seq: number }>) seqs.push(m.seq);
        if (f.t === "subbed" && f.ch === ch && f["truncated"]) truncated = true;
      }
      pos = body.pos;
      waiters.notify();
    };
    take(first.body);
    const loop = pollingReceiver(env, via, async (node) => {
      const r = await httpJson(`${env.url(node)}/poll?ch=${encodeURIComponent(pos)}&wait=1`, "GET", { token, timeoutMs: 10_000 });
      if (r.status !== 200) throw new Error(`poll: ${r.status} ${JSON.stringify(r.body)}`);
      take(r.body);
    });
    loop.start((via + 1) % env.nodes);
    return {
      seqs: () => seqs,
      truncated: () => truncated,
      waitFor: (cond, what, ms = 20_000) => waiters.wait(cond, what, ms, () => `seqs ${JSON.stringify(seqs)} errors ${String(loop.errors.slice(-2))}`),
      drop: () => loop.stop(),
      resume: async (i) => loop.start(i),
      close: () => loop.stop(),
    };
  },
};

/** Seed 004's polling: `GET /api/sync/poll?since=<cursor>`, every 100 ms (the client's interval), on each node in turn. */
export const syncTransport: ReceiverTransport = {
  name: "api-sync",
  async open(env, user, ch, after, via) {
    const token = await env.token(user);
    const seqs: number[] = [];
    let truncated = false;
    // A cursor naming only this channel's position: the documented form `c<queue>.<ms>.<positions>`.
    let cursor = `c0.0.${ch}:${after}`;
    const waiters = new Waiters();
    const step = async (node: number) => {
      const r = await httpJson(`${env.url(node)}/api/sync/poll?since=${encodeURIComponent(cursor)}`, "GET", { token });
      if (r.status !== 200) throw Object.assign(new Error(`sync poll: ${r.status} ${JSON.stringify(r.body)}`), { status: r.status });
      for (const m of r.body.messages as Array<{ type: string; payload: { ch: string; seq: number } }>) {
        if (m.type === "message" && m.payload.ch === ch) seqs.push(m.payload.seq);
      }
      if ((r.body.gaps as string[]).includes(ch)) truncated = true;
      cursor = r.body.cursor;
      waiters.notify();
    };
    await step(via);
    const loop = pollingReceiver(env, via, async (node) => {
      await new Promise((r) => setTimeout(r, 100));
      await step(node);
    });
    loop.start((via + 1) % env.nodes);
    return {
      seqs: () => seqs,
      truncated: () => truncated,
      waitFor: (cond, what, ms = 20_000) => waiters.wait(cond, what, ms, () => `seqs ${JSON.stringify(seqs)} errors ${String(loop.errors.slice(-2))}`),
      drop: () => loop.stop(),
      resume: async (i) => loop.start(i),
      close: () => loop.stop(),
    };
  },
};

export const RECEIVERS: readonly ReceiverTransport[] = [wsTransport, sseTransport, pollTransport, syncTransport];

/** Publishing over the three command transports: a WebSocket `pub`, `POST /cmd`, REST. */
export type PublishVia = "ws" | "cmd" | "rest";

export async function publish(env: ConformanceEnv, how: PublishVia, node: number, user: string, ch: string, cid: string, body: string, ws?: WsClient): Promise<{ seq: number; dup: boolean }> {
  const token = await env.token(user);
  if (how === "ws") {
    const f = await ws!.request({ t: "pub", ch, cid, body });
    if (f.t !== "ack") throw new Error(`pub: ${JSON.stringify(f)}`);
    return { seq: f["seq"] as number, dup: f["dup"] === true };
  }
  if (how === "cmd") {
    const r = await httpJson(`${env.url(node)}/cmd`, "POST", { token, body: [{ t: "pub", id: 1, ch, cid, body }] });
    const f = (r.body as Frame[])[0]!;
    if (r.status !== 200 || f.t !== "ack") throw new Error(`cmd pub: ${r.status} ${JSON.stringify(r.body)}`);
    return { seq: f["seq"] as number, dup: f["dup"] === true };
  }
  const r = await httpJson(`${env.url(node)}/channels/${encodeURIComponent(ch)}/messages`, "POST", { token, body: { clientId: cid, body } });
  if (r.status !== 200 && r.status !== 201) throw new Error(`rest pub: ${r.status} ${JSON.stringify(r.body)}`);
  return { seq: r.body.seq, dup: r.body.duplicate };
}
