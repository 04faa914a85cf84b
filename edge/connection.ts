import type { Buffer } from "node:buffer";
import type { JournalEntry } from "../storage/store.ts";
import type { Principal } from "./auth.ts";
import type { MsgsEncoding } from "./frames.ts";
import type { SendTurn } from "./send_turn.ts";
import { SharedBytes, type SharedFrame } from "./shared_frame.ts";

/**
 * The minimal socket surface a connection needs (satisfied by `ws`'s WebSocket). Frames are JSON
 * text: a Buffer holds its UTF-8 bytes and is sent as a text message (`binary: false`).
 */
export interface SocketLike {
  readonly bufferedAmount: number;
  send(data: string | Buffer, options: { binary: false }): void;
  /**
   * Writes a complete WebSocket frame built by `SharedBytes.wire`, in order with `send`; dropped
   * when the socket is no longer open, as `send` drops it. Optional: without it, `send` frames the
   * payload for this socket.
   */
  sendFrame?(wire: Buffer): void;
  close(code: number, reason: string): void;
}

const TEXT = { binary: false } as const;

/** Where a connection reports the messages of its socket writes (`EdgeMetrics`). */
export interface DeliverySink {
  /**
   * One socket write carried `count` messages of `msgs` frames. `sampleTs` is the commit time
   * (`JournalEntry.ts`) of the first live message among them, the write's latency sample; undefined
   * when the write carried only history pages (their age is the client's absence, not latency).
   */
  written(count: number, sampleTs: number | undefined): void;
}

const NO_SINK: DeliverySink = { written() {} };
const NO_SUBS: ReadonlyMap<string, Subscription> = new Map();

/** Per-socket, per-channel delivery position. */
export interface Subscription {
  /** Highest seq sent to this socket: deliveries at or below it are never sent again. */
  cursor: number;
  /** False while the socket catches up from history; live batches wait in `held` meanwhile. */
  live: boolean;
  held: JournalEntry[][];
  heldCount: number;
  /** True when `held` overflowed and was dropped: catch-up must page again. */
  overflow: boolean;
  /** Bumped by each catch-up; an older catch-up loop seeing a newer value stops. */
  gen: number;
  /** True once `subbed` was sent: only confirmed subscriptions are moved to a new activation. */
  confirmed: boolean;
}

/**
 * One client connection. Outgoing frames queued in one loop turn leave as one WebSocket message
 * (a JSON array when there are several), so acks and deliveries are batched per socket too. Frames
 * shared with other sockets are sent as the bytes encoded once for all of them (see `SendTurn`).
 * A socket whose unsent bytes exceed `maxBuffered` is closed with `slow_consumer` (G6): it
 * reconnects and resumes from its last seq instead of making the server buffer without bound.
 */
export class Connection {
  /** Subscriptions by channel; created on the first one (most idle connections never subscribe). */
  #subs: Map<string, Subscription> | undefined;
  /** Frames queued this turn; created on the first push of a turn. */
  #out: Array<SharedFrame | string> | undefined;
  #scheduled = false;
  closed = false;
  lastSeen: number;
  /** Requests received and not yet answered. */
  inflight = 0;
  /** Messages in the `msgs` frames queued this turn, and the commit time of the first live one. */
  #msgs = 0;
  #msgsTs: number | undefined;

  constructor(
    readonly id: number,
    readonly principal: Principal,
    private readonly socket: SocketLike,
    private readonly turn: SendTurn,
    private readonly maxBuffered: number,
    now: number,
    /** The encoding of this socket's `msgs` frames. */
    readonly enc: MsgsEncoding = "json",
    private readonly sink: DeliverySink = NO_SINK,
  ) {
    this.lastSeen = now;
  }

  /** This socket's subscriptions (read-only: change them with `setSub` and `deleteSub`). */
  get subs(): ReadonlyMap<string, Subscription> {
    return this.#subs ?? NO_SUBS;
  }

  setSub(ch: string, sub: Subscription): void {
    (this.#subs ??= new Map()).set(ch, sub);
  }

  deleteSub(ch: string): void {
    this.#subs?.delete(ch);
  }

  get user(): string {
    return this.principal.user;
  }

  /** Bytes handed to the socket and not yet written to the network. */
  get buffered(): number {
    return this.socket.bufferedAmount;
  }

  /** Queues a frame: a `SharedFrame` when other sockets get the same one, else its JSON text. */
  push(frame: SharedFrame | string): void {
    if (this.closed) return;
    (this.#out ??= []).push(frame);
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.turn.flushLater(this);
    }
  }

  /**
   * Queues a `msgs` frame of `count` messages, counted when the frame is written (two field updates
   * per batch, not per message). `liveTs`: the commit time of its first message when it is a live
   * batch, not a page of history.
   */
  pushMsgs(frame: SharedFrame | string, count: number, liveTs?: number): void {
    if (this.closed) return;
    this.#msgsTs ??= liveTs;
    this.#msgs += count;
    this.push(frame);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.#out = undefined;
    this.socket.close(code, reason);
  }

  /** Sends what this turn queued, as one WebSocket message (called by `SendTurn` at the turn's end). */
  flush(): void {
    this.#scheduled = false;
    const out = this.#out;
    const msgs = this.#msgs;
    const sampleTs = this.#msgsTs;
    this.#out = undefined;
    this.#msgs = 0;
    this.#msgsTs = undefined;
    if (this.closed || !out) return;
    if (this.socket.bufferedAmount > this.maxBuffered) {
      this.close(4100, "slow_consumer");
      return;
    }
    const f = out[0]!;
    // Always a built frame: one write, where `ws` would frame a string and write header and payload as two.
    const message = out.length > 1 ? this.turn.joined(out) : typeof f === "string" ? SharedBytes.ofText(f) : f.shared;
    try {
      if (this.socket.sendFrame) this.socket.sendFrame(message.wire);
      else this.socket.send(message.bytes, TEXT);
      if (msgs > 0) this.sink.written(msgs, sampleTs);
    } catch {
      // The frames are lost to this socket only: closing it makes the client resume from its cursor.
      this.close(1011, "internal");
    }
  }
}
