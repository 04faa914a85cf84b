import type { ActorId } from "../core/actor_id.ts";

/** An ask not yet routed: what the router needs to route it later, and its caller's callbacks. */
export interface ParkedAsk {
  to: ActorId;
  msg: unknown;
  /** When the caller asked: the ask's whole timeout, parking included, runs from here. */
  since: number;
  timeoutMs: number;
  hops: number;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

/**
 * Asks that reached a node holding no cluster lease, held until it holds one again rather than
 * failed at once (a client told `unavailable` backs off for up to seconds; a rejoin takes about
 * one). Bounded both ways: at most `max` wait, and none longer than `maxWaitMs` nor half its own
 * timeout, so the routed ask keeps time to be answered before its caller gives up. Nothing parked
 * has reached an actor: releasing one routes it afresh, under the new incarnation's placements.
 */
export class ParkedAsks {
  readonly #asks: ParkedAsk[] = [];

  constructor(
    readonly max: number,
    readonly maxWaitMs: number,
  ) {}

  get size(): number {
    return this.#asks.length;
  }

  /** The time `a` may wait parked until. */
  deadline(a: ParkedAsk): number {
    return a.since + Math.min(this.maxWaitMs, Math.floor(a.timeoutMs / 2));
  }

  /** Holds `a`; false (not held) when full or when its wait is already over. */
  park(a: ParkedAsk, now: number): boolean {
    if (this.#asks.length >= this.max || this.deadline(a) <= now) return false;
    this.#asks.push(a);
    return true;
  }

  /** Removes and returns the asks whose wait is over, in arrival order. */
  expired(now: number): ParkedAsk[] {
    if (this.#asks.length === 0) return [];
    const gone: ParkedAsk[] = [];
    let kept = 0;
    for (const a of this.#asks) {
      if (this.deadline(a) <= now) gone.push(a);
      else this.#asks[kept++] = a;
    }
    this.#asks.length = kept;
    return gone;
  }

  /** Removes and returns every ask, in arrival order. */
  take(): ParkedAsk[] {
    return this.#asks.splice(0, this.#asks.length);
  }
}
