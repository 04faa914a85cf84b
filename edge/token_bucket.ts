/** A rate: at most `count` at once (the burst), refilled at `count` per `perMs`. */
export interface Rate {
  count: number;
  perMs: number;
}

/** Parses `--rl-*` values: `N/S` (N per S seconds), or `off`. */
export function parseRate(v: string, flag: string): Rate | undefined {
  if (v === "off" || v === "0") return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(v);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new Error(`Cannot read --${flag}: "${v}" is not N/SECONDS (e.g. 1000/900) or off`);
  return { count: Number(m[1]), perMs: Number(m[2]) * 1000 };
}

/**
 * One token bucket: two numbers, refilled lazily when taken from (no timer per bucket). `take`
 * answers 0 when a token was taken, else the milliseconds until one will be there. `share` scales
 * the rate (cluster mode: each node enforces its part of a user's limit).
 */
export class TokenBucket {
  tokens: number;
  at: number;

  constructor(capacity: number, now: number) {
    this.tokens = capacity;
    this.at = now;
  }

  take(rate: Rate, share: number, now: number): number {
    const capacity = rate.count * share;
    const perMs = capacity / rate.perMs;
    // A clock that steps back (wall time adjusted) refills nothing rather than taking tokens away.
    if (now < this.at) now = this.at;
    let tokens = this.tokens + (now - this.at) * perMs;
    if (tokens > capacity) tokens = capacity;
    this.at = now;
    if (tokens >= 1) {
      this.tokens = tokens - 1;
      return 0;
    }
    this.tokens = tokens;
    // Less a hair: float error must not add a whole millisecond.
    return Math.max(1, Math.ceil((1 - tokens) / perMs - 1e-9));
  }

  /** True when the bucket is full again: it can be forgotten (a new one starts full). */
  full(rate: Rate, share: number, now: number): boolean {
    return this.tokens + (now - this.at) * ((rate.count * share) / rate.perMs) >= rate.count * share;
  }
}

/** Buckets by key (a user, an IP), one rate for all; full buckets are swept so idle keys cost nothing. */
export class KeyedBuckets {
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(readonly rate: Rate) {}

  take(key: string, share: number, now: number): number {
    let b = this.#buckets.get(key);
    if (!b) this.#buckets.set(key, (b = new TokenBucket(this.rate.count * share, now)));
    return b.take(this.rate, share, now);
  }

  sweep(share: number, now: number): void {
    for (const [k, b] of this.#buckets) if (b.full(this.rate, share, now)) this.#buckets.delete(k);
  }

  get size(): number {
    return this.#buckets.size;
  }
}
