import { describe, expect, it } from "vitest";
import { KeyedBuckets, parseRate, TokenBucket } from "./token_bucket.ts";

describe("token bucket", () => {
  it("token bucket - a burst up to the count passes, the next waits the refill time of one token", () => {
    const rate = { count: 3, perMs: 3_000 };
    const b = new TokenBucket(3, 0);
    expect([b.take(rate, 1, 0), b.take(rate, 1, 0), b.take(rate, 1, 0)]).toEqual([0, 0, 0]);
    expect(b.take(rate, 1, 0)).toBe(1_000);
    expect(b.take(rate, 1, 999)).toBe(1);
    expect(b.take(rate, 1, 1_000)).toBe(0);
  });

  it("token bucket - a share of a half halves the burst and the refill", () => {
    const rate = { count: 4, perMs: 4_000 };
    const b = new KeyedBuckets(rate);
    expect([b.take("u", 0.5, 0), b.take("u", 0.5, 0)]).toEqual([0, 0]);
    expect(b.take("u", 0.5, 0)).toBe(2_000);
  });

  it("token bucket - keys are independent, and full buckets are swept", () => {
    const b = new KeyedBuckets({ count: 1, perMs: 1_000 });
    expect(b.take("a", 1, 0)).toBe(0);
    expect(b.take("b", 1, 0)).toBe(0);
    expect(b.take("a", 1, 0)).toBeGreaterThan(0);
    b.sweep(1, 500);
    expect(b.size).toBe(2);
    b.sweep(1, 1_000);
    expect(b.size).toBe(0);
  });

  it("token bucket - rates parse as N/SECONDS or off, and anything else is an error", () => {
    expect(parseRate("1000/900", "x")).toEqual({ count: 1000, perMs: 900_000 });
    expect(parseRate("off", "x")).toBeUndefined();
    expect(() => parseRate("10/s", "x")).toThrow(/Cannot read --x/);
  });
});
