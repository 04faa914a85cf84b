import { type Channel, type ClientFrame, ClientClosedError, type PublishResult, type ServerFrame, StormClient, type WireEvent } from "../../client/index.ts";
import { nodePlatform } from "../../client/platform/node.ts";

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
  /** A connection silent this long (no answer to our pings) is presumed dead. */
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

/** A request seen on the wire, by id: what its answer is recorded as. */
type Asked = { kind: "pub"; ch: string; cid: string; conn: number; timedOut?: true } | { kind: "sub"; ch: string; after: number; conn: number };

const EMOJI = ["👍", "🎉", "👀"];

/**
 * A chaos test client: the SDK's `StormClient` (WebSocket only, to a random node at each
 * reconnect, backoff with full jitter, heartbeat, resume from the last seq, the offline queue that
 * re-sends each publish with its client id until acked), driven at a steady rate of publishes,
 * edits, deletes and reactions, and recording everything that happens on its wire for the history
 * checker. The recording comes from the SDK's `wire` event, so it holds what the server really
 * sent (a repeat the channel handle drops is still recorded: the checker judges the server):
 * - `pub` for every attempt of a cid, `ack`/`err` for its answer, `err` `disconnected` when the
 *   connection ends before the answer and `timeout` when the SDK gave up waiting and re-sends;
 * - `resume` at every `subbed` (one stream per connection and `sub`), `deliver` per message.
 */
export class ChaosClient {
  readonly #o: ChaosClientOptions;
  readonly #client: StormClient;
  readonly #handles: Channel[];
  readonly #asked = new Map<number, Asked>();
  /** The attempt of each cid on the wire now: its request id. */
  readonly #inFlight = new Map<string, number>();
  /** Publishes made and not settled (acked or refused for good), by cid. */
  readonly #unsettled = new Map<string, string>();
  readonly #maxAck = new Map<string, number>();
  /** Per channel, the seqs of this client's acknowledged messages not deleted by it: what it may change. */
  readonly #mine = new Map<string, number[]>();
  readonly #publisher: ReturnType<typeof setInterval> | undefined;
  #publishing = true;
  #closed = false;
  #conns = 0;
  #published = 0;
  #acked = 0;
  #gaveUp = 0;
  #delivered = 0;

  constructor(o: ChaosClientOptions) {
    this.#o = o;
    let nextCid = 1;
    const bases = o.urls.map((u) => u.replace(/^ws/, "http").replace(/\/ws\/?$/, ""));
    this.#client = new StormClient({
      url: () => bases[Math.floor(Math.random() * bases.length)]!,
      token: o.token,
      platform: { ...nodePlatform(), uuid: () => `${o.name}-${nextCid++}` },
      transports: ["websocket"],
      backoff: { baseMs: 100, maxMs: 2_000 },
      heartbeatMs: Math.max(200, Math.floor(o.staleMs / 3)),
      requestTimeoutMs: o.pubTimeoutMs,
      connectTimeoutMs: 3_000,
    });
    this.#client.on("wire", (e) => this.#onWire(e));
    this.#client.on("error", (e) => o.log(`${o.name}: ${e.code}: ${e.message}`));
    this.#handles = o.channels.map((name) => {
      const h = this.#client.channel(name);
      h.on("pending", (p) => void this.#unsettled.set(p.cid, name));
      h.on("committed", (c) => void this.#unsettled.delete(c.cid));
      h.on("failed", (f) => {
        this.#unsettled.delete(f.cid);
        this.#gaveUp++;
        o.log(`${o.name}: giving up on ${f.cid}: ${f.error.code}: ${f.error.message}`);
      });
      void h.subscribe(0).catch((err: Error) => o.log(`${o.name}: sub ${name} refused: ${err.message}`));
      return h;
    });
    void this.#client.connect().catch((err: Error) => o.log(`${o.name}: ${err.message}`));
    if (o.ratePerSec > 0) this.#publisher = setInterval(() => this.#publishNew(), Math.max(10, Math.round(1000 / o.ratePerSec)));
  }

  /** No new publishes from now on; those not yet acked are still retried until acked. */
  stopPublishing(): void {
    this.#publishing = false;
  }

  progress(): ClientProgress {
    return {
      name: this.#o.name,
      lastSeq: Object.fromEntries(this.#handles.map((h) => [h.name, h.lastSeq])),
      maxAck: Object.fromEntries(this.#maxAck),
      outstanding: this.#unsettled.size,
      published: this.#published,
      acked: this.#acked,
      gaveUp: this.#gaveUp,
      delivered: this.#delivered,
      connections: this.#conns,
    };
  }

  /** Stops everything; publishes still unacked get a final `err` (`abandoned`). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#publisher) clearInterval(this.#publisher);
    this.#client.close();
    for (const [cid, ch] of this.#unsettled) this.#o.record({ k: "err", ch, cid, code: "abandoned" });
    this.#unsettled.clear();
  }

  #publishNew(): void {
    if (!this.#publishing || this.#closed || this.#unsettled.size >= this.#o.window) return;
    const h = this.#handles[Math.floor(Math.random() * this.#handles.length)]!;
    const change = this.#pickChange(h.name);
    const emoji = EMOJI[Math.floor(Math.random() * EMOJI.length)]!;
    const sent: Promise<PublishResult> =
      change.kind === "delete" ? h.delete(change.ref!)
      : change.kind === "edit" ? h.edit(change.ref!, `edit ${Math.random().toString(36).slice(2)}`)
      : change.kind === "react" ? h.react(change.ref!, emoji)
      : h.publish(`${this.#o.name} ${Math.random().toString(36).slice(2)}`);
    this.#published++;
    sent.then((r) => {
      this.#acked++;
      if (change.kind === undefined) this.#mine.set(h.name, [...(this.#mine.get(h.name) ?? []), r.seq].slice(-50));
    }, (err: Error) => {
      if (!(err instanceof ClientClosedError)) this.#o.log(`${this.#o.name}: publish failed: ${err.message}`);
    });
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

  #onWire(e: WireEvent): void {
    this.#conns = Math.max(this.#conns, e.conn);
    if (e.dir === "out") for (const f of e.frames) this.#onSent(f, e.conn);
    else if (e.dir === "in") for (const f of e.frames) this.#onReceived(f, e.conn);
    else this.#onClosed(e.conn);
  }

  #onSent(f: ClientFrame, conn: number): void {
    if (f.t === "sub") return void this.#asked.set(f.id, { kind: "sub", ch: f.ch, after: f.after, conn });
    if (f.t !== "pub" && f.t !== "edit" && f.t !== "delete" && f.t !== "react") return;
    const earlier = this.#inFlight.get(f.cid);
    const stale = earlier === undefined ? undefined : this.#asked.get(earlier);
    // Sent again while the last attempt is unanswered: the SDK stopped waiting for it (a late
    // answer to it is still recorded).
    if (stale?.kind === "pub") {
      stale.timedOut = true;
      this.#o.record({ k: "err", ch: f.ch, cid: f.cid, code: "timeout" });
    }
    this.#inFlight.set(f.cid, f.id);
    this.#asked.set(f.id, { kind: "pub", ch: f.ch, cid: f.cid, conn });
    const body = f.t === "delete" ? "" : "emoji" in f ? f.emoji : f.body;
    this.#o.record({ k: "pub", ch: f.ch, cid: f.cid, body, ...(f.t === "pub" ? {} : { kind: f.t, ref: f.seq }) });
  }

  #onReceived(f: ServerFrame, conn: number): void {
    switch (f.t) {
      case "msgs":
        for (const m of f.m) {
          const change = m.ref === undefined ? {} : { ...(m.kind ? { kind: m.kind as Change["kind"] } : {}), ref: m.ref };
          this.#o.record({ k: "deliver", ch: f.ch, seq: m.seq, cid: m.cid, body: m.body, from: m.from, ...change, conn });
          this.#delivered++;
        }
        return;
      case "subbed": {
        const asked = f.id === undefined ? undefined : this.#asked.get(f.id);
        if (asked?.kind !== "sub") return;
        this.#asked.delete(f.id!);
        this.#o.record({ k: "resume", ch: asked.ch, after: asked.after, conn });
        if (f.truncated === true) this.#o.record({ k: "truncated", ch: asked.ch, first: f.first, conn });
        return;
      }
      case "ack": {
        const asked = this.#asked.get(f.id);
        if (asked?.kind !== "pub") return;
        this.#answered(f.id, asked.cid);
        this.#o.record({ k: "ack", ch: f.ch ?? asked.ch, cid: asked.cid, seq: f.seq, ...(f.dup === true ? { dup: true as const } : {}) });
        this.#maxAck.set(asked.ch, Math.max(this.#maxAck.get(asked.ch) ?? 0, f.seq));
        return;
      }
      case "err": {
        const asked = f.id === undefined ? undefined : this.#asked.get(f.id);
        if (asked === undefined) return;
        this.#asked.delete(f.id!);
        if (asked.kind === "sub") return this.#o.log(`${this.#o.name}: sub ${asked.ch} failed (${f.code})`);
        this.#answered(f.id!, asked.cid);
        this.#o.record({ k: "err", ch: asked.ch, cid: asked.cid, code: f.code });
        return;
      }
      default:
    }
  }

  #answered(id: number, cid: string): void {
    this.#asked.delete(id);
    if (this.#inFlight.get(cid) === id) this.#inFlight.delete(cid);
  }

  /** Connection `conn` ended: every attempt in flight on it has an unknown outcome. */
  #onClosed(conn: number): void {
    for (const [id, asked] of this.#asked) {
      if (asked.conn !== conn) continue;
      this.#asked.delete(id);
      if (asked.kind !== "pub") continue;
      this.#answered(id, asked.cid);
      if (!asked.timedOut) this.#o.record({ k: "err", ch: asked.ch, cid: asked.cid, code: "disconnected" });
    }
  }
}
