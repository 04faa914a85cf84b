import type { ClientFrame, Message, Platform, ServerFrame, Transport, TransportFactory, TransportHandlers, TransportKind } from "../client/index.ts";
import { MemoryOutbox } from "../client/index.ts";

/**
 * A virtual clock for the SDK's property test: timers run in time order, and between two timers
 * every pending promise settles (one macrotask turn drains the microtask queue), so a run is
 * deterministic for a given seed and takes no real time.
 */
export class VirtualTime {
  now = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();
  #next = 1;

  setTimeout = (fn: () => void, ms: number): number => {
    const id = this.#next++;
    this.#timers.set(id, { at: this.now + Math.max(0, ms), fn });
    return id;
  };

  clearTimeout = (id: unknown): void => {
    this.#timers.delete(id as number);
  };

  /** Runs timers until `done()` holds or the clock passes `limitMs`; true when `done()` held. */
  async run(done: () => boolean, limitMs: number): Promise<boolean> {
    for (;;) {
      await new Promise<void>((r) => setImmediate(r));
      if (done()) return true;
      let first: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.#timers) if (!first || e[1].at < first[1].at || (e[1].at === first[1].at && e[0] < first[0])) first = e;
      if (!first || first[1].at > limitMs) return false;
      this.#timers.delete(first[0]);
      this.now = first[1].at;
      first[1].fn();
    }
  }
}

export interface FakeNodeOptions {
  /** Random source of the run (fast-check's). */
  rand: () => number;
  /** Probability that a connection drops instead of answering a `pub` (before or after committing it). */
  dropOnPub: number;
  /** Switch for the test of the test: a node that forgets client ids appends retries again. */
  dedupe: boolean;
}

interface Chan {
  msgs: Message[];
  cids: Map<string, number>;
}

/**
 * A node in memory with Storm's publish and subscribe semantics (G1-G4): per-channel seqs,
 * exactly-once by client id, `sub` from a position then live. Faults are switches: `crash()` drops
 * every connection and refuses new ones until `recover()`, `block(kind)` refuses one transport.
 */
export class FakeNode {
  readonly channels = new Map<string, Chan>();
  readonly conns = new Set<FakeTransport>();
  readonly blocked = new Set<TransportKind>();
  up = true;
  /** Every connection is refused as a bad token is (close 4001). */
  refuseTokens = false;

  constructor(
    readonly time: VirtualTime,
    readonly o: FakeNodeOptions,
  ) {}

  chan(ch: string): Chan {
    let c = this.channels.get(ch);
    if (!c) this.channels.set(ch, (c = { msgs: [], cids: new Map() }));
    return c;
  }

  commit(ch: string, from: string, cid: string, body: string): { seq: number; dup: boolean } {
    const c = this.chan(ch);
    const known = c.cids.get(cid);
    if (known !== undefined && this.o.dedupe) return { seq: known, dup: true };
    const m = { seq: c.msgs.length + 1, ts: this.time.now, from, cid, body };
    c.msgs.push(m);
    c.cids.set(cid, m.seq);
    for (const conn of this.conns) conn.live(ch, m);
    return { seq: m.seq, dup: false };
  }

  crash(): void {
    this.up = false;
    for (const c of [...this.conns]) c.drop();
  }

  dropAll(): void {
    for (const c of [...this.conns]) c.drop();
  }

  recover(): void {
    this.up = true;
  }

  factory(user: string): TransportFactory {
    return (kind, _base, _token, _platform, handlers) => new FakeTransport(this, kind, user, handlers);
  }
}

/** One connection to the fake node; frames reach each side in order, after a random delay. */
export class FakeTransport implements Transport {
  readonly #subs = new Map<string, number>();
  #attached = false;
  #closed = false;
  /** Delivery times are monotonic per direction: the connection keeps order, as TCP does. */
  #toClientAt = 0;
  #toServerAt = 0;

  constructor(
    readonly node: FakeNode,
    readonly kind: TransportKind,
    readonly user: string,
    readonly handlers: TransportHandlers,
  ) {}

  start(): void {
    this.node.time.setTimeout(() => {
      if (this.#closed) return;
      if (!this.node.up || this.node.blocked.has(this.kind)) return this.#fail();
      if (this.node.refuseTokens) return this.#fail(4001, "unauthenticated");
      this.#attached = true;
      this.node.conns.add(this);
      this.#toClient([{ t: "welcome", user: this.user, role: "user", channels: [], reads: {}, unread: {}, mentions: {} }]);
    }, 1 + this.#delay());
  }

  send(frames: ClientFrame[]): void {
    this.#toServer(() => {
      for (const f of frames) this.#serve(f);
    });
  }

  subscribe(ch: string, after: number, id: number): void {
    this.#toServer(() => {
      const c = this.node.chan(ch);
      const start = Math.min(after, c.msgs.length);
      this.#subs.set(ch, c.msgs.length);
      const frames: ServerFrame[] = [{ t: "subbed", id, ch, last: c.msgs.length, first: 1 }];
      if (c.msgs.length > start) frames.push({ t: "msgs", ch, m: c.msgs.slice(start) });
      this.#toClient(frames);
    });
  }

  unsubscribe(ch: string): void {
    this.#toServer(() => this.#subs.delete(ch));
  }

  reauth(): void {}

  close(): void {
    this.#closed = true;
    this.node.conns.delete(this);
  }

  /** A committed message of a channel this connection follows. */
  live(ch: string, m: Message): void {
    if (this.#subs.has(ch)) this.#toClient([{ t: "msgs", ch, m: [m] }]);
  }

  drop(): void {
    if (this.#closed) return;
    this.#fail();
  }

  #serve(f: ClientFrame): void {
    if (f.t === "ping") return this.#toClient([{ t: "pong", ...(f.id === undefined ? {} : { id: f.id }), ts: this.node.time.now }]);
    if (f.t !== "pub") return;
    const r = this.node.o.rand();
    if (r < this.node.o.dropOnPub / 2) return this.drop();
    const ack = this.node.commit(f.ch, this.user, f.cid, f.body);
    if (r < this.node.o.dropOnPub) return this.drop();
    this.#toClient([{ t: "ack", id: f.id, ch: f.ch, seq: ack.seq, ...(ack.dup ? { dup: true as const } : {}) }]);
  }

  #delay(): number {
    return Math.floor(this.node.o.rand() * 20);
  }

  #toServer(fn: () => void): void {
    this.#toServerAt = Math.max(this.#toServerAt, this.node.time.now + this.#delay());
    this.node.time.setTimeout(() => {
      if (this.#attached && !this.#closed) fn();
    }, this.#toServerAt - this.node.time.now);
  }

  #toClient(frames: ServerFrame[]): void {
    this.#toClientAt = Math.max(this.#toClientAt, this.node.time.now + this.#delay());
    this.node.time.setTimeout(() => {
      if (!this.#closed) this.handlers.onFrames(frames);
    }, this.#toClientAt - this.node.time.now);
  }

  #fail(code = 1006, reason = "dropped"): void {
    this.#closed = true;
    this.node.conns.delete(this);
    this.handlers.onClose({ code, reason });
  }
}

/** The SDK's platform on virtual time, with an in-memory outbox. */
export function fakePlatform(time: VirtualTime, rand: () => number, name: string): Platform {
  let n = 0;
  return {
    openSocket: () => {
      throw new Error("The fake platform has no sockets: transports are fakes");
    },
    request: () => {
      throw new Error("The fake platform has no HTTP: transports are fakes");
    },
    setTimeout: time.setTimeout,
    clearTimeout: time.clearTimeout,
    now: () => time.now,
    random: rand,
    uuid: () => `${name}-${++n}`,
    outbox: new MemoryOutbox(),
  };
}
