import { describe, expect, it } from "vitest";
import { type ParkedAsk, ParkedAsks } from "./parked_asks.ts";

const ask = (to: string, since: number, timeoutMs = 10_000): ParkedAsk => ({ to, msg: {}, since, timeoutMs, hops: 0, resolve() {}, reject() {} });

describe("ParkedAsks", () => {
  it("parked asks - each waits until the shorter of the bound and half its own timeout, and leaves in arrival order", () => {
    const parked = new ParkedAsks(10, 3_000);
    expect(parked.deadline(ask("a", 0))).toBe(3_000);
    expect(parked.deadline(ask("b", 0, 2_000))).toBe(1_000);
    for (const a of [ask("a", 0), ask("b", 0, 2_000), ask("c", 500)]) expect(parked.park(a, 500)).toBe(true);
    expect(parked.expired(999).map((a) => a.to)).toEqual([]);
    expect(parked.expired(1_000).map((a) => a.to)).toEqual(["b"]);
    expect(parked.take().map((a) => a.to)).toEqual(["a", "c"]);
    expect(parked.size).toBe(0);
  });

  it("parked asks - a full queue, or an ask whose wait is already over, is not held", () => {
    const parked = new ParkedAsks(2, 3_000);
    expect(parked.park(ask("a", 0), 0)).toBe(true);
    expect(parked.park(ask("old", 0), 3_000)).toBe(false);
    expect(parked.park(ask("b", 0), 0)).toBe(true);
    expect(parked.park(ask("c", 0), 0)).toBe(false);
    expect(parked.size).toBe(2);
  });
});
