import { describe, expect, it } from "vitest";
import type { HistoryEvent } from "../checker/history.ts";
import type { JournalRow } from "../checker/journal.ts";
import { failoverTimes, longestSilences, percentiles } from "./failover.ts";

const row = (ch: string, seq: number, cid: string, ts: number): JournalRow => ({ ch, seq, cid, body: cid, ts });
const ack = (ch: string, cid: string, seq: number, t: number): HistoryEvent => ({ k: "ack", client: "c1", ch, cid, seq, t });

describe("failover times", () => {
  it("failover - counts from the fault to the first ack of a message accepted after it", () => {
    const rows = [row("a", 1, "old", 990), row("a", 2, "new", 1_800), row("a", 3, "later", 2_500)];
    // "old" was accepted before the fault: its ack, in flight at the fault, does not count.
    const events = [ack("a", "old", 1, 1_010), ack("a", "new", 2, 2_100), ack("a", "later", 3, 2_600)];
    expect(failoverTimes([{ index: 0, kind: "kill", at: 1_000, affected: ["a"] }], events, rows)).toEqual([
      { fault: 0, kind: "kill", ch: "a", ms: 1_100 },
    ]);
  });

  it("failover - a channel with no ack after the fault is reported as never recovered", () => {
    const samples = failoverTimes([{ index: 3, kind: "pause", at: 5_000, affected: ["a", "b"] }], [ack("a", "x", 1, 4_000)], [row("a", 1, "x", 3_900)]);
    expect(samples.map((s) => s.ms)).toEqual([null, null]);
  });

  it("failover - nearest-rank percentiles leave out the unrecovered", () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentiles([...xs, null])).toEqual({ n: 100, p50: 50, p99: 99, max: 100 });
    expect(percentiles([null])).toEqual({ n: 0, p50: null, p99: null, max: null });
    expect(percentiles([7])).toEqual({ n: 1, p50: 7, p99: 7, max: 7 });
  });

  it("failover - the longest silence of a channel spans the window's edges too", () => {
    const rows = [row("a", 1, "x", 1_200), row("a", 2, "y", 1_500), row("a", 3, "z", 3_000)];
    expect(longestSilences(["a", "b"], rows, 1_000, 3_200)).toEqual([
      { ch: "a", ms: 1_500, from: 1_500 },
      { ch: "b", ms: 2_200, from: 1_000 },
    ]);
  });
});
