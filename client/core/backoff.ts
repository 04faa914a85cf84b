/** Exponential backoff with full jitter (AWS's "full jitter"): delay = random(0, min(cap, base * 2^attempt)). */
export interface BackoffOptions {
  /** First ceiling, ms. Default 250. */
  baseMs?: number;
  /** Largest ceiling, ms. Default 15 000. */
  maxMs?: number;
  /** Attempts before giving up (the client goes `offline` and stops). Default Infinity. */
  maxAttempts?: number;
}

/**
 * Counts failed attempts since the last success and tells how long to wait before the next one.
 * Full jitter spreads a crowd of clients that lost the same node over the whole window instead of
 * sending them back in waves.
 */
export class Backoff {
  readonly #base: number;
  readonly #max: number;
  readonly maxAttempts: number;
  #attempt = 0;

  constructor(o: BackoffOptions, private readonly random: () => number) {
    this.#base = o.baseMs ?? 250;
    this.#max = o.maxMs ?? 15_000;
    this.maxAttempts = o.maxAttempts ?? Infinity;
  }

  /** Failed attempts since the last `reset()`. */
  get attempts(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt, or undefined when the attempts are used up. */
  next(): number | undefined {
    if (this.#attempt >= this.maxAttempts) return undefined;
    const ceiling = Math.min(this.#max, this.#base * 2 ** this.#attempt);
    this.#attempt++;
    return Math.floor(this.random() * ceiling);
  }

  /** A connection succeeded: the next failure starts from the base again. */
  reset(): void {
    this.#attempt = 0;
  }
}
