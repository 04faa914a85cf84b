import type { Clock, Timer } from "../runtime/core/clock.ts";

/** What the reporter reads of a socket: its bytes handed to the socket and not yet sent. */
export interface Buffered {
  readonly buffered: number;
}

export interface DeliveryReporterOptions {
  clock: Clock;
  /** Runs a callback at the end of this loop turn (`SendTurn.later`). */
  later(fn: () => void): void;
  /** The sockets subscribed to a channel on this edge. */
  socketsOn(ch: string): Iterable<Buffered>;
  /** Tells a channel's actor that this edge has delivered up to `seq`. */
  report(ch: string, seq: number): void;
  /** Unsent bytes above which a socket is backed up; it stays so until it is below `lowWater`. */
  highWater: number;
  lowWater: number;
  /**
   * A report waits at most this long, and a socket backed up for longer no longer holds its
   * channels back (G6 then applies): well within the time after which a channel drops an edge
   * that makes no progress (actors/edge_flow.ts).
   */
  maxWaitMs: number;
  /** Delay between checks while some channel waits for its sockets. */
  retryMs: number;
  /**
   * Reports go out at most this often: each is a message to a worker thread, and the channel's
   * flow control only needs them well within its lag bound.
   */
  minIntervalMs: number;
}

/**
 * Tells each channel, at the end of a loop turn, how far this edge has handed its batches to sockets;
 * the channel's flow control (actors/edge_flow.ts) paces publishers on it. A channel is told only
 * once its sockets have written what they were handed (below a high-water mark of unsent bytes),
 * so publishers are paced by what the sockets actually deliver, not by what the edge queued in
 * memory. Neither one socket nor many can stall a channel: a report waits at most `maxWaitMs`, and
 * a socket backed up for longer is left to the slow-consumer bound (G6) and no longer waited for.
 */
export class DeliveryReporter {
  readonly #o: DeliveryReporterOptions;
  /** Per channel, the highest seq handed to its sockets and not yet taken by a report's first step. */
  #fresh = new Map<string, number>();
  /** Per channel, the highest seq its sockets have been given to write, not yet reported. */
  readonly #due = new Map<string, number>();
  /** Per channel whose report waits for its sockets, since when. */
  readonly #waiting = new Map<string, number>();
  /** Sockets backed up, with the time they became so. */
  readonly #backedUp = new Map<Buffered, number>();
  /** A report's two steps are under way. */
  #queued = false;
  #intervalTimer: Timer | undefined;
  #retry: Timer | undefined;
  #lastReport = -Infinity;

  constructor(o: DeliveryReporterOptions) {
    this.#o = o;
  }

  /** The batch ending at `seq` has been handed to the channel's sockets. */
  handed(ch: string, seq: number): void {
    this.#fresh.set(ch, Math.max(seq, this.#fresh.get(ch) ?? 0));
    this.#arm();
  }

  /** Forgets a closed socket. */
  closed(socket: Buffered): void {
    this.#backedUp.delete(socket);
  }

  /**
   * Reports in two steps through `later`, which runs callbacks in order with the socket writes (a
   * large fan-out spreads them over several turns): the first step takes what was handed so far,
   * whose writes are all queued by then, and queues the second behind them; the second reports it.
   * A report thus never names a seq that some socket has not yet been given to write.
   */
  #arm(): void {
    if (this.#queued || this.#intervalTimer) return;
    const wait = this.#lastReport + this.#o.minIntervalMs - this.#o.clock.now();
    if (wait > 0) {
      this.#intervalTimer = this.#o.clock.setTimeout(() => {
        this.#intervalTimer = undefined;
        this.#arm();
      }, wait);
      return;
    }
    this.#queued = true;
    this.#o.later(() => {
      const handed = this.#fresh;
      this.#fresh = new Map();
      this.#o.later(() => this.#written(handed));
    });
  }

  #written(handed: Map<string, number>): void {
    this.#queued = false;
    for (const [ch, seq] of handed) this.#due.set(ch, Math.max(seq, this.#due.get(ch) ?? 0));
    this.#retry?.cancel();
    this.#check();
    if (this.#fresh.size > 0) this.#arm();
  }

  readonly #check = (): void => {
    this.#retry = undefined;
    const now = this.#o.clock.now();
    for (const [ch, seq] of this.#due) {
      if (this.#waitFor(ch, now)) {
        const since = this.#waiting.get(ch);
        if (since === undefined) this.#waiting.set(ch, now);
        if (since === undefined || now - since <= this.#o.maxWaitMs) continue;
      }
      this.#waiting.delete(ch);
      this.#due.delete(ch);
      this.#o.report(ch, seq);
      this.#lastReport = now;
    }
    if (this.#due.size > 0) this.#retry = this.#o.clock.setTimeout(this.#check, this.#o.retryMs);
  };

  /** True while some socket on `ch` is backed up, and not for longer than `maxWaitMs`. */
  #waitFor(ch: string, now: number): boolean {
    for (const s of this.#o.socketsOn(ch)) {
      const b = s.buffered;
      if (b <= this.#o.lowWater) {
        this.#backedUp.delete(s);
        continue;
      }
      let since = this.#backedUp.get(s);
      if (since === undefined) {
        if (b <= this.#o.highWater) continue;
        this.#backedUp.set(s, (since = now));
      }
      if (now - since <= this.#o.maxWaitMs) return true;
    }
    return false;
  }
}
