import { describe, expect, it } from "vitest";
import { Backoff } from "./backoff.ts";

describe("Backoff", () => {
  it("draws each delay uniformly below a ceiling that doubles from the base up to the max (full jitter)", () => {
    const top = new Backoff({ baseMs: 100, maxMs: 1_000 }, () => 0.999999);
    expect(Array.from({ length: 6 }, () => top.next())).toEqual([99, 199, 399, 799, 999, 999]);
    const bottom = new Backoff({ baseMs: 100, maxMs: 1_000 }, () => 0);
    expect(Array.from({ length: 3 }, () => bottom.next())).toEqual([0, 0, 0]);
  });

  it("gives up after maxAttempts and starts again from the base after reset()", () => {
    const b = new Backoff({ baseMs: 100, maxMs: 1_000, maxAttempts: 2 }, () => 0.5);
    expect([b.next(), b.next(), b.next()]).toEqual([50, 100, undefined]);
    expect(b.attempts).toBe(2);
    b.reset();
    expect(b.next()).toBe(50);
  });
});
