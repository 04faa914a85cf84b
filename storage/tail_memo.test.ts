import { describe, expect, it } from "vitest";
import type { JournalEntry } from "./store.ts";
import { TailMemo } from "./tail_memo.ts";

const entries = (first: number, n: number): JournalEntry[] =>
  Array.from({ length: n }, (_, k) => ({ seq: first + k, clientId: `c-${first + k}`, sender: "ann", body: "hi", ts: 1 }));

describe("tail memo", () => {
  it("tail memo - an append continues only right after the last seq this store committed", () => {
    const memo = new TailMemo();
    expect(memo.continues("a", entries(1, 2))).toBe(false);
    memo.settled("a", entries(1, 3), { ok: true });
    expect(memo.continues("a", entries(4, 1))).toBe(true);
    expect(memo.continues("a", entries(5, 1))).toBe(false); // a gap
    expect(memo.continues("a", entries(3, 1))).toBe(false); // an overlap
    expect(memo.continues("a", [])).toBe(false);
    expect(memo.continues("b", entries(4, 1))).toBe(false);
    memo.settled("a", [], { ok: true }); // an empty append leaves the tail where it was
    expect(memo.continues("a", entries(4, 1))).toBe(true);
  });

  it("tail memo - any outcome but ok, and forget, make the next append checked in full", () => {
    const memo = new TailMemo();
    memo.settled("a", entries(1, 1), { ok: true });
    memo.settled("a", entries(2, 1), { ok: false, reason: "conflict" });
    expect(memo.continues("a", entries(2, 1))).toBe(false);
    memo.settled("b", entries(1, 1), { ok: true });
    memo.settled("b", entries(2, 1), { ok: false, reason: "duplicate", existing: new Map([["c-2", 2]]) });
    expect(memo.continues("b", entries(2, 1))).toBe(false);
    memo.settled("c", entries(1, 1), { ok: true });
    memo.settled("c", entries(2, 1), { ok: false, reason: "fenced" });
    expect(memo.continues("c", entries(2, 1))).toBe(false);
    memo.settled("d", entries(1, 1), { ok: true });
    memo.forget("d");
    expect(memo.continues("d", entries(2, 1))).toBe(false);
    expect(memo.size).toBe(0);
  });

  it("tail memo - holds at most max actors, dropping the oldest", () => {
    const memo = new TailMemo(3);
    for (const id of ["a", "b", "c"]) memo.settled(id, entries(1, 1), { ok: true });
    memo.settled("a", entries(2, 1), { ok: true }); // known actors do not evict
    expect(memo.size).toBe(3);
    memo.settled("d", entries(1, 1), { ok: true });
    expect(memo.size).toBe(3);
    expect(memo.continues("a", entries(3, 1))).toBe(false); // the first inserted went
    expect(["b", "c", "d"].map((id) => memo.continues(id, entries(2, 1)))).toEqual([true, true, true]);
  });
});
