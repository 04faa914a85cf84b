import WebSocket from "ws";

/** One line of a client history, in the checker's format (`checker/history.ts`), without `client` and `t`. */
/** What a change entry does to message `ref` (absent on a plain message). */
export interface Change {
  kind?: "edit" | "delete" | "react";
  ref?: number;
}

export type Recorded =
  | ({ k: "pub"; ch: string; cid: string; body: string } & Change)
  | { k: "ack"; ch: string; cid: string; seq: number; dup?: true }
  | { k: "err"; ch: string; cid: string; code: string }
  | { k: "resume"; ch: string; after: number; conn: number }
  | { k: "truncated"; ch: string; first: number; conn: number }
  | ({ k: "deliver"; ch: string; seq: number; cid: string; body: string; from: string; conn: number } & Change);

export interface ChaosClientOptions {
  /** The client's name in its history, and its user name. */
  name: string;
  token: string;
  /** `ws://127.0.0.1:PORT/ws` of every node: a reconnect goes to any of them. */
  urls: readonly string[];
  /** Channels to subscribe to (all) and publish to (at random); the user is a member of each. */
  channels: readonly string[];
  /** New publishes per second (0: subscribe only). */
  ratePerSec: number;
  /** The share of them that edit, delete or react to one of the client's acknowledged messages (default 0.2). */
  changeShare?: number;
  /** At most this many publishes awaiting their ack; no new one beyond. */
  window: number;
  /** A publish not acked within this is recorded as `timeout` and sent again with its cid. */
  pubTimeoutMs: number;
  /** A connection silent this long (no frame, no pong to our pings) is presumed dead. */
  staleMs: number;
  record(e: Recorded): void;
  log(msg: string): void;
}

export interface ClientProgress {
  name: string;
  /** Last seq received per channel (the resume position). */
  lastSeq: Record<string, number>;
  /** Greatest acked seq per channel. */
  maxAck: Record<string, number>;
  outstanding: number;
  published: number;
  acked: number;
  gaveUp: number;
  delivered: number;
  connections: number;
}

interface Outstanding extends Change {
  ch: string;
  body: string;
  /** Request id of the attempt in flight on the current connection, if any. */
  id?: number;
  timer?: NodeJS.Timeout;
  retry?: NodeJS.Timeout;
  attempts: number;
}

type Request = { kind: "pub"; cid: string } | { kind: "sub"; ch: string; after: number };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Frame = { t: string; id?: number; ch?: string; [k: string]: any };

const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 2_000;
const CONNECT_TIMEOUT_MS = 3_000;
const SUB_TIMEOUT_MS = 10_000;
const EMOJI = ["👍", "🎉", "👀"];

/**
 * A chaos test client, as PROTOCOL.md ("Resume: what a client must do") asks of a real one, and
 * recording everything that happens to it for the history checker:
 * - one WebSocket at a time, to any node; on close, error or silence it reconnects to a random
 *   node with exponential backoff and full jitter, and subscribes again to every channel with
 *   `after` = the last seq it received there (one new stream per connection and channel);
 * - publishes with unique cids and keeps each until acked: after an `err` that allows a retry, a
 *   timeout or a disconnect, it sends it again with the SAME cid (exactly-once, G3);
 * - a `sub` that fails or gets no answer closes the connection (a fresh connection resubscribes
 *   everything from its positions), so every stream's start is a `resume` event.
 * Nothing is hidden from the recording: every send, ack, error and delivery is written, in order.
 */
export class ChaosClient {
  readonly #o: ChaosClientOptions;
  #ws: WebSocket | undefined;
  #conn = 0;
  #attempt = 0;
  #lastHeard = 0;
  #nextId = 1;
  #nextCid = 1;
  #publishing = true;
  #closed = false;
  readonly #lastSeq = new Map<string, number>();
  readonly #maxAck = new Map<string, number>();
  /** Per channel, the seqs of this client's acknowledged messages not deleted by it: what it may change. */
  readonly #mine = new Map<string, number[]>();
  readonly #outstanding = new Map<string, Outstanding>();
  readonly #requests = new Map<number, Request>();
  readonly #subTimers = new Set<NodeJS.Timeout>();
  #reconnectTimer: NodeJS.Timeout | undefined;
  readonly #ticker: NodeJS.Timeout;
  readonly #publisher: NodeJS.Timeout | undefined;
  #published = 0;
  #acked = 0;
  #gaveUp = 0;
  #delivered = 0;

  constructor(o: ChaosClientOptions) {
    this.#o = o;
    for (const ch of o.channels) this.#lastSeq.set(ch, 0);
    this.#ticker = setInterval(() => this.#heartbeat(), Math.max(200, Math.floor(o.staleMs / 4)));
    if (o.ratePerSec > 0) this.#publisher = setInterval(() => this.#publishNew(), Math.max(10, Math.round(1000 / o.ratePerSec)));
    this.#connect();
  }

  /** No new publishes from now on; those not yet acked are still retried until acked. */
  stopPublishing(): void {
    this.#publishing = false;
  }

  progress(): ClientProgress {
    return {
      name: this.#o.name,
      lastSeq: Object.fromEntries(this.#lastSeq),
      maxAck: Object.fromEntries(this.#maxAck),
      outstanding: this.#outstanding.size,
      published: this.#published,
      acked: this.#acked,
      gaveUp: this.#gaveUp,
      delivered: this.#delivered,
      connections: this.#conn,
    };
  }

  /** Stops everything; publishes still unacked get a final `err` (`abandoned`). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#ticker);
    if (this.#publisher) clearInterval(this.#publisher);
    clearTimeout(this.#reconnectTimer);
    const ws = this.#ws;
    this.#down();
    ws?.close(1000);
    for (const [cid, p] of this.#outstanding) {
      clearTimeout(p.retry);
      this.#o.record({ k: "err", ch: p.ch, cid, code: "abandoned" });
    }
    this.#outstanding.clear();
  }

  #connect(): void {
    if (this.#closed) return;
    const url = this.#o.urls[Math.floor(Math.random() * this.#o.urls.length)]!;
    const conn = ++this.#conn;
    const ws = new WebSocket(`${url}?token=${encodeURIComponent(this.#o.token)}`);
    this.#ws = ws;
    const openTimer = setTimeout(() => ws.terminate(), CONNECT_TIMEOUT_MS);
    ws.on("open", () => {
      clearTimeout(openTimer);
      if (this.#ws !== ws) return;
      this.#lastHeard = Date.now();
      this.#attempt = 0;
      this.#subscribeAll(ws);
      for (const cid of this.#outstanding.keys()) this.#sendPub(cid);
    });
    ws.on("message", (data: Buffer) => {
      if (this.#ws !== ws) return;
      this.#lastHeard = Date.now();
      this.#onMessage(data.toString("utf8"), conn);
    });
    ws.on("pong", () => {
      if (this.#ws === ws) this.#lastHeard = Date.now();
    });
    ws.on("error", () => {});
    ws.on("close", () => {
      clearTimeout(openTimer);
      if (this.#ws !== ws) return;
      this.#down();
      this.#scheduleReconnect();
    });
  }

  /** The current connection is gone: every attempt in flight on it has an unknown outcome. */
  #down(): void {
    const ws = this.#ws;
    this.#ws = undefined;
    for (const t of this.#subTimers) clearTimeout(t);
    this.#subTimers.clear();
    this.#requests.clear();
    for (const [cid, p] of this.#outstanding) {
      if (p.id === undefined) continue;
      clearTimeout(p.timer);
      p.id = undefined;
      this.#o.record({ k: "err", ch: p.ch, cid, code: "disconnected" });
    }
    if (ws && ws.readyState !== WebSocket.CLOSED) ws.terminate();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#reconnectTimer) return;
    const delay = Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 10);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#connect();
    }, delay);
  }

  #heartbeat(): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (Date.now() - this.#lastHeard > this.#o.staleMs) {
      // A paused node keeps its sockets open and silent: give up on it.
      this.#down();
      this.#scheduleReconnect();
      return;
    }
    ws.ping();
  }

  #subscribeAll(ws: WebSocket): void {
    const frames = this.#o.channels.map((ch) => {
      const id = this.#nextId++;
      const after = this.#lastSeq.get(ch) ?? 0;
      this.#requests.set(id, { kind: "sub", ch, after });
      const timer = setTimeout(() => {
        this.#subTimers.delete(timer);
        if (this.#ws !== ws || !this.#requests.has(id)) return;
        this.#o.log(`${this.#o.name}: no answer to sub ${ch} within ${SUB_TIMEOUT_MS} ms: reconnecting`);
        this.#down();
        this.#scheduleReconnect();
      }, SUB_TIMEOUT_MS);
      this.#subTimers.add(timer);
      return { t: "sub", id, ch, after };
    });
    ws.send(JSON.stringify(frames));
  }

  #publishNew(): void {
    if (!this.#publishing || this.#closed || this.#outstanding.size >= this.#o.window) return;
    const cid = `${this.#o.name}-${this.#nextCid++}`;
    const ch = this.#o.channels[Math.floor(Math.random() * this.#o.channels.length)]!;
    const change = this.#pickChange(ch);
    // The body as the journal will hold it: a delete has none, a reaction's is its emoji.
    const body = change.kind === "delete" ? "" : change.kind === "react" ? EMOJI[Math.floor(Math.random() * EMOJI.length)]! : `${cid} ${Math.random().toString(36).slice(2)}`;
    this.#outstanding.set(cid, { ch, body, attempts: 0, ...change });
    this.#published++;
    this.#sendPub(cid);
  }

  /**
   * Now and then, a change of one of this client's own acknowledged messages instead of a new one:
   * an edit, a reaction, or (once per message) a delete. The checker verifies these entries too.
   */
  #pickChange(ch: string): Change {
    const mine = this.#mine.get(ch) ?? [];
    if (mine.length === 0 || Math.random() >= (this.#o.changeShare ?? 0.2)) return {};
    const i = Math.floor(Math.random() * mine.length);
    const r = Math.random();
    if (r < 0.2) return { kind: "delete", ref: mine.splice(i, 1)[0]! };
    return { kind: r < 0.6 ? "edit" : "react", ref: mine[i]! };
  }

  /** The frame that sends `p` (the body of a reaction is its emoji; a delete has none). */
  static frameOf(id: number, cid: string, p: Outstanding): Record<string, unknown> {
    switch (p.kind) {
      case "edit":
        return { t: "edit", id, ch: p.ch, seq: p.ref, cid, body: p.body };
      case "delete":
        return { t: "delete", id, ch: p.ch, seq: p.ref, cid };
      case "react":
        return { t: "react", id, ch: p.ch, seq: p.ref, cid, emoji: p.body };
      default:
        return { t: "pub", id, ch: p.ch, cid, body: p.body };
    }
  }

  #sendPub(cid: string): void {
    const p = this.#outstanding.get(cid);
    const ws = this.#ws;
    if (!p || !ws || ws.readyState !== WebSocket.OPEN) return;
    clearTimeout(p.retry);
    clearTimeout(p.timer);
    const id = this.#nextId++;
    p.id = id;
    p.attempts++;
    this.#requests.set(id, { kind: "pub", cid });
    this.#o.record({ k: "pub", ch: p.ch, cid, body: p.body, ...(p.kind ? { kind: p.kind, ref: p.ref } : {}) });
    ws.send(JSON.stringify(ChaosClient.frameOf(id, cid, p)));
    p.timer = setTimeout(() => {
      if (p.id !== id) return;
      p.id = undefined;
      this.#o.record({ k: "err", ch: p.ch, cid, code: "timeout" });
      this.#sendPub(cid);
    }, this.#o.pubTimeoutMs);
  }

  #onMessage(text: string, conn: number): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.#o.log(`${this.#o.name}: unparsable server message ${text.slice(0, 100)}`);
      return;
    }
    for (const f of (Array.isArray(parsed) ? parsed : [parsed]) as Frame[]) {
      // A frame earlier in this message may have made us drop the connection (a failed sub): the
      // rest belongs to a connection we no longer follow, and must not be recorded as a stream.
      if (this.#ws === undefined || conn !== this.#conn) return;
      this.#onFrame(f, conn);
    }
  }

  #onFrame(f: Frame, conn: number): void {
    switch (f.t) {
      case "msgs":
        for (const m of f["m"] as Array<{ seq: number; cid: string; body: string; from: string } & Change>) {
          const change = m.ref === undefined ? {} : { ...(m.kind ? { kind: m.kind } : {}), ref: m.ref };
          this.#o.record({ k: "deliver", ch: f.ch!, seq: m.seq, cid: m.cid, body: m.body, from: m.from, ...change, conn });
          this.#lastSeq.set(f.ch!, m.seq);
          this.#delivered++;
        }
        return;
      case "subbed": {
        const req = this.#requests.get(f.id!);
        if (req?.kind !== "sub") return;
        this.#requests.delete(f.id!);
        this.#o.record({ k: "resume", ch: req.ch, after: req.after, conn });
        if (f["truncated"] === true) this.#o.record({ k: "truncated", ch: req.ch, first: f["first"] as number, conn });
        return;
      }
      case "ack": {
        const req = this.#requests.get(f.id!);
        if (req?.kind !== "pub") return;
        this.#requests.delete(f.id!);
        const p = this.#outstanding.get(req.cid);
        const ch = f.ch ?? p?.ch;
        const seq = f["seq"] as number;
        this.#o.record({ k: "ack", ch: ch!, cid: req.cid, seq, ...(f["dup"] === true ? { dup: true as const } : {}) });
        this.#maxAck.set(ch!, Math.max(this.#maxAck.get(ch!) ?? 0, seq));
        if (p) {
          clearTimeout(p.timer);
          clearTimeout(p.retry);
          this.#outstanding.delete(req.cid);
          if (p.kind === undefined) this.#mine.set(ch!, [...(this.#mine.get(ch!) ?? []), seq].slice(-50));
          this.#acked++;
        }
        return;
      }
      case "err":
        return this.#onErr(f);
      default:
    }
  }

  #onErr(f: Frame): void {
    const req = f.id === undefined ? undefined : this.#requests.get(f.id);
    if (req === undefined) return this.#o.log(`${this.#o.name}: ${f["code"]}: ${f["message"]}`);
    this.#requests.delete(f.id!);
    if (req.kind === "sub") {
      this.#o.log(`${this.#o.name}: sub ${req.ch} failed (${f["code"]}): reconnecting`);
      this.#down();
      this.#scheduleReconnect();
      return;
    }
    const p = this.#outstanding.get(req.cid);
    if (!p) return;
    this.#o.record({ k: "err", ch: p.ch, cid: req.cid, code: String(f["code"]) });
    if (p.id !== f.id) return;
    clearTimeout(p.timer);
    p.id = undefined;
    if (f["retry"] === "never") {
      this.#o.log(`${this.#o.name}: giving up on ${req.cid}: ${f["code"]}: ${f["message"]}`);
      this.#outstanding.delete(req.cid);
      this.#gaveUp++;
      return;
    }
    const delay = Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(p.attempts, 5));
    p.retry = setTimeout(() => this.#sendPub(req.cid), delay);
  }
}
