/**
 * A small seeded pseudo-random generator (mulberry32): the same seed gives the same sequence on
 * every machine and runtime, which is what makes a chaos schedule replayable from its seed. Not
 * for anything secret.
 *
 * @example
 * const rng = new Random(42);
 * rng.int(3); // 0, 1 or 2, the same for seed 42 every time
 */
export class Random {
  #state: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`Cannot seed a Random with ${seed}: an integer is needed`);
    // Fold the seed to 32 bits (negative and large seeds included), then mix once.
    this.#state = (seed ^ Math.floor(seed / 2 ** 32)) >>> 0;
    this.next();
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A number in [lo, hi). */
  between(lo: number, hi: number): number {
    return lo + this.next() * (hi - lo);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Cannot pick from an empty list");
    return items[this.int(items.length)]!;
  }

  /** The items in a random order (Fisher-Yates; the input is not changed). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}
