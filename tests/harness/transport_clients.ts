import { StormClient, type StormClientError, type Platform, type TransportKind } from "../../client/index.ts";
import { nodePlatform } from "../../client/platform/node.ts";
import { httpJson } from "./http.ts";
import { SseClient } from "./sse_client.ts";
import { type Frame, WsClient } from "./ws_client.ts";

/** Where the conformance suite runs: one node, or a cluster whose nodes a client rotates through. */
export interface ConformanceEnv {
  readonly nodes: number;
  /** `http://127.0.0.1:<port>` of node `i`. */
  url(i: number): string;
  token(user: string): Promise<string>;
}

/**
 * Trims `ch`'s journal through seq `upto` with the channel's own retention policy (`PUT
 * /channels/{ch}/retention` by its owner: keep `last - upto`), on a node started with
 * `--dedupe-horizon 0` so that young entries may go.
 */
export async function trimThrough(env: ConformanceEnv, owner: string, ch: string, upto: number): Promise<void> {
  const token = await env.token(owner);
  const got = await httpJson(`${env.url(0)}/channels/${ch}/retention`, "GET", { token });
  const set = await httpJson(`${env.url(0)}/channels/${ch}/retention`, "PUT", { token, body: { maxCount: (got.body as { last: number }).last - upto } });
  if (set.status !== 200 || (set.body as { first: number }).first !== upto + 1) throw new Error(`Cannot trim ${ch} through ${upto}: ${set.status} ${JSON.stringify(set.body)}`);
}

/**
 * A client receiving one channel over one transport. It keeps its own position (what a real client
 * keeps) and resumes from it after a drop, by its transport's own mechanism: the SDK's `sub after`
 * (WebSocket) and `ch=<name>:<seq>` positions (long-poll), `Last-Event-ID` (SSE), `cursor` (`/api/sync`).
 */
export interface Receiver {
  /** Seqs received, in arrival order, duplicates kept. */
  seqs(): number[];
  /** Whether the server said the position was older than retained history. */
  truncated(): boolean;
  waitFor(cond: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Drops the connection (or stops polling). */
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

/**
 * A receiver on the SDK (the repo's protocol client): the channel handle keeps the position, and
 * `resume` opens a new client that subscribes from it. Seqs are taken from the SDK's `wire` event,
 * raw, so a duplicate the handle would drop is still counted: the server is what is judged.
 * `platformFor` may reroute requests (long-poll: each to the next node, no sticky sessions).
 */
function sdkTransport(name: string, kind: TransportKind, platformFor: (env: ConformanceEnv, via: number) => Platform): ReceiverTransport {
  return {
    name,
    async open(env, user, ch, after, via) {
      const token = await env.token(user);
      const seqs: number[] = [];
      let truncated = false;
      let pos = after;
      let client: StormClient | undefined;
      const waiters = new Waiters();
      const attach = async (i: number) => {
        const c = (client = new StormClient({ url: env.url(i), token, platform: platformFor(env, i), transports: [kind], backoff: { baseMs: 50, maxMs: 500 } }));
        c.on("wire", (e) => {
          if (e.dir !== "in") return;
          for (const f of e.frames) {
            if (f.t === "msgs" && f.ch === ch) for (const m of f.m) seqs.push(m.seq);
            if (f.t === "subbed" && f.ch === ch && f.truncated) truncated = true;
          }
          waiters.notify();
        });
        try {
          await c.connect();
          await c.channel(ch).subscribe(pos);
        } catch (err) {
          c.close();
          const code = (err as StormClientError).code;
          throw Object.assign(new Error(`sub refused: ${code}`), { code });
        }
      };
      const detach = async () => {
        pos = client!.channel(ch).lastSeq;
        client!.close();
      };
      await attach(via);
      return {
        seqs: () => seqs,
        truncated: () => truncated,
        waitFor: (cond, what, ms = 20_000) => waiters.wait(cond, what, ms, () => `seqs ${JSON.stringify(seqs)}`),
        drop: detach,
        resume: (i) => attach(i),
        close: detach,
      };
    },
  };
}

export const wsTransport = sdkTransport("websocket", "websocket", () => nodePlatform());

/** The SDK's long-poll transport, each of its requests (`/users/me`, `/poll`, `/cmd`) to the next node in turn. */
export const pollTransport = sdkTransport("long-poll", "poll", (env, via) => {
  const p = nodePlatform();
  let node = via;
  return {
    ...p,
    request: (req) => {
      node = (node + 1) % env.nodes;
      return p.request({ ...req, url: req.url.replace(/^http:\/\/[^/]+/, env.url(node)) });
    },
  };
});

/**
 * SSE, resuming as EventSource does: the same URL again, with `Last-Event-ID`. Raw on purpose: it
 * tests the server's `Last-Event-ID` resume, which the SDK (positions in the URL) does not use.
 */
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

/** Raw on purpose: the sync API (`/api/sync`) is seed 004's polling, not the protocol the SDK speaks. Seed 004's polling: `GET /api/sync/poll?since=<cursor>`, every 100 ms (the client's interval), on each node in turn. */
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

/** Publishing over the three command transports: a WebSocket `pub`, `POST /cmd`, REST (raw on purpose: each transport's own request is what is tested). */
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
