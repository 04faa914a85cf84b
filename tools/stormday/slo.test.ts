import { describe, expect, it } from "vitest";
import { type DayTotals, DEFAULT_SLOS, judgeDay } from "./slo.ts";
import type { Point } from "./timeline.ts";

const GOOD: DayTotals = { attempts: 1_000, ready: 1_000, ackP99: 50, deliverP99: 80, gaps: 0, dups: 0, violations: 0, checkedAcked: 500, unacked: 0, behind: 0 };

function point(over: Partial<Point>): Point {
  return { t: 1_000, open: 1, attempts: 0, ready: 0, failed: 0, dropped: 0, churned: 0, pubs: 1, acks: 1, pubErrors: 0, delivered: 1, replayed: 0, gaps: 0, dups: 0, ackP99: 10, deliverP99: 10, nodesUp: 3, ...over };
}

const verdict = (t: DayTotals, name: string, points: Point[] = []) => judgeDay(t, points).find((v) => v.name.startsWith(name))!;

describe("Storm Day SLO verdicts", () => {
  it("slo - a clean day meets every objective", () => {
    expect(judgeDay(GOOD, []).every((v) => v.ok)).toBe(true);
  });

  it("slo - an ack p99 over target is a miss, not a broken invariant", () => {
    const v = verdict({ ...GOOD, ackP99: DEFAULT_SLOS.ackP99Ms + 1 }, "ack p99");
    expect(v.ok).toBe(false);
    expect(v.hard).toBe(false);
  });

  it("slo - connect success under 99.9 % is a miss", () => {
    expect(verdict({ ...GOOD, ready: 998 }, "connect success").ok).toBe(false);
    expect(verdict({ ...GOOD, ready: 999 }, "connect success").ok).toBe(true);
  });

  it("slo - one checker violation breaks the zero-loss invariant", () => {
    const v = verdict({ ...GOOD, violations: 1 }, "zero loss");
    expect(v.ok).toBe(false);
    expect(v.hard).toBe(true);
  });

  it("slo - zero loss with nothing checked is not evidence of zero loss", () => {
    expect(verdict({ ...GOOD, checkedAcked: 0 }, "zero loss").ok).toBe(false);
  });

  it("slo - a gap or a duplicate on a bulk client breaks the order invariant", () => {
    expect(verdict({ ...GOOD, gaps: 1 }, "order").ok).toBe(false);
    expect(verdict({ ...GOOD, dups: 1 }, "order").ok).toBe(false);
    expect(verdict(GOOD, "order").hard).toBe(true);
  });

  it("slo - a recorder still behind after the drain is reported, not fatal", () => {
    const v = verdict({ ...GOOD, behind: 2 }, "recovered");
    expect(v.ok).toBe(false);
    expect(v.hard).toBe(false);
  });

  it("slo - the share of seconds meeting a target counts only seconds with traffic", () => {
    const points = [point({ ackP99: 10 }), point({ ackP99: 900 }), point({ acks: 0, ackP99: 0 }), point({ ackP99: 20 })];
    expect(verdict(GOOD, "ack p99", points).secondsMet).toBeCloseTo(2 / 3);
  });
});
