import { describe, expect, it } from "vitest";
import { COMMIT_BUCKETS, CommitStats, commitStatsText, sumCommitStats } from "./commit_stats.ts";

describe("commit stats", () => {
  it("commit stats - a statement lands in the first bucket whose bound holds its wall time", () => {
    const s = new CommitStats();
    s.record(3, 10, 0.001); // on the bound: le="0.001"
    s.record(2, 4, 0.004);
    s.record(1, 1, 9); // above every bound
    const snap = s.snapshot();
    expect(snap).toMatchObject({ statements: 3, appends: 6, entries: 15 });
    expect(snap.seconds).toBeCloseTo(9.005, 9);
    const expected = new Array(COMMIT_BUCKETS.length + 1).fill(0);
    expected[0] = 1;
    expected[COMMIT_BUCKETS.indexOf(0.005)] = 1;
    expected[COMMIT_BUCKETS.length] = 1;
    expect(snap.buckets).toEqual(expected);
  });

  it("commit stats - the text sums threads, and its buckets are cumulative up to +Inf", () => {
    const a = new CommitStats();
    const b = new CommitStats();
    a.record(1, 2, 0.003);
    b.record(4, 8, 0.02);
    b.record(1, 1, 0.02);
    const text = commitStatsText(sumCommitStats([a.snapshot(), b.snapshot()]));
    expect(text).toContain("storm_journal_group_statements_total 3\n");
    expect(text).toContain("storm_journal_appends_total 6\n");
    expect(text).toContain("storm_journal_entries_total 11\n");
    expect(text).toContain('storm_journal_group_seconds_bucket{le="0.0025"} 0\n');
    expect(text).toContain('storm_journal_group_seconds_bucket{le="0.005"} 1\n');
    expect(text).toContain('storm_journal_group_seconds_bucket{le="0.025"} 3\n');
    expect(text).toContain('storm_journal_group_seconds_bucket{le="2.5"} 3\n');
    expect(text).toContain('storm_journal_group_seconds_bucket{le="+Inf"} 3\n');
    expect(text).toContain("storm_journal_group_seconds_count 3\n");
  });

  it("commit stats - a snapshot is a copy: later statements do not change it", () => {
    const s = new CommitStats();
    s.record(1, 1, 0.01);
    const snap = s.snapshot();
    s.record(1, 1, 0.01);
    expect(snap.statements).toBe(1);
    expect(snap.buckets.reduce((x, y) => x + y, 0)).toBe(1);
  });
});
