import type { Buffer } from "node:buffer";
import type { JournalEntry } from "../storage/store.ts";
import { StormError } from "../runtime/core/errors.ts";
import type { Principal } from "./auth.ts";
import { errorFrame, type MsgsEncoding } from "./frames.ts";
import type { SendTurn } from "./send_turn.ts";
import type { TokenBucket } from "./token_bucket.ts";
import { SharedBytes, type SharedFrame } from "./shared_frame.ts";

/**
 * The sink a connection writes to: a WebSocket (`ws`'s, satisfying it as is), an SSE response or
 * a waiting long-poll request (`edge/sse_sink.ts`, `edge/poll_sink.ts`). Frames are JSON text: a
 * Buffer holds its UTF-8 bytes and is sent as a text message (`binary: false`).
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
  /**
   * Writes a turn's frames one by one, for sinks whose unit is one frame (an SSE event, an entry
   * of a poll's answer) rather than one WebSocket message. Optional: without it, the turn's frames
   * leave as one message through `sendFrame` or `send`.
   */
  writeFrames?(frames: ReadonlyArray<SharedFrame | string>): void;
  /** Ends the sink; `reason` is the error code it ends with (`slow_consumer`, `shutting_down`, ...). */
  close(code: number, reason: string): void;
}

const TEXT = { binary: false } as const;
const SLOW_CONSUMER_FRAME = errorFrame(undefined, new StormError("slow_consumer", "Dropped: the socket had too much unsent data (read faster, then reconnect and resume)"));

/** Where a connection reports the messages of its writes (`EdgeMetrics.sink`, one per transport). */
export interface DeliverySink {
  /**
   * One write carried `count` messages of `msgs` frames. `sampleTs` is the commit time
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
  /** The `reauth` notice for the current token was sent (see `TokenExpiry`). */
  reauthSent = false;
  /** The `TokenExpiry` slot this connection waits in. */
  expirySlot = 0;
  /** This connection's publish rate limit, from its first publish on (`RateLimits`). */
  pubBucket: TokenBucket | undefined;
  /** Messages in the `msgs` frames queued this turn, and the commit time of the first live one. */
  #msgs = 0;
  #msgsTs: number | undefined;

  constructor(
    readonly id: number,
    /** Who is connected; replaced by a re-authentication (same user, fresh token). */
    public principal: Principal,
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

  /**
   * Closes with a last frame saying why (an `err`), written behind whatever this socket was already
   * sent: a client that reads on learns the reason before the close frame. One that never reads
   * again learns nothing, as it cannot see the close frame either.
   */
  closeWith(code: number, reason: string, lastFrame: string): void {
    if (this.closed) return;
    const out = this.#out;
    this.#out = undefined;
    try {
      if (out) {
        this.#write(out);
        this.#written();
      }
      this.#write([lastFrame]);
    } catch {
      // The socket is already gone: closing is all there is left to do.
    }
    this.close(code, reason);
  }

  /** Sends what this turn queued, as one WebSocket message (called by `SendTurn` at the turn's end). */
  flush(): void {
    this.#scheduled = false;
    const out = this.#out;
    this.#out = undefined;
    if (this.closed || !out) return this.#forget();
    if (this.socket.bufferedAmount > this.maxBuffered) {
      this.#forget();
      this.closeWith(4100, "slow_consumer", SLOW_CONSUMER_FRAME);
      return;
    }
    try {
      this.#write(out);
      this.#written();
    } catch {
      // The frames are lost to this socket only: closing it makes the client resume from its cursor.
      this.close(1011, "internal");
    }
  }

  /** Reports the messages of the frames just written (`DeliverySink`). */
  #written(): void {
    if (this.#msgs > 0) this.sink.written(this.#msgs, this.#msgsTs);
    this.#forget();
  }

  #forget(): void {
    this.#msgs = 0;
    this.#msgsTs = undefined;
  }

  #write(out: Array<SharedFrame | string>): void {
    // A sink that takes frames (SSE, long-poll) encodes them itself.
    if (this.socket.writeFrames) return this.socket.writeFrames(out);
    const f = out[0]!;
    // Always a built frame: one write, where `ws` would frame a string and write header and payload as two.
    const message = out.length > 1 ? this.turn.joined(out) : typeof f === "string" ? SharedBytes.ofText(f) : f.shared;
    if (this.socket.sendFrame) this.socket.sendFrame(message.wire);
    else this.socket.send(message.bytes, TEXT);
  }
}
