import { describe, expect, it } from "vitest";
import type { CheckResult } from "../checker/check.ts";
import type { InjectedFault } from "./injector.ts";
import { formatSummary, type RunFacts, summarize } from "./summary.ts";

const check = (acked: number, violations: CheckResult["violations"] = []): CheckResult => ({
  violations,
  stats: { published: acked, acked, errors: 0, unackedCommitted: 0, lostUnacked: 0, delivered: acked * 2, streams: 4, journalRows: acked, lastSeq: { a: acked } },
});
const fault = (index: number, kind: InjectedFault["kind"], ok = true): InjectedFault =>
  ({ index, kind, plannedAtMs: index * 1000, at: 1_000 + index, affected: ["a"], outcome: ok ? "done" : "failed: no slot", ok });

const facts = (over: Partial<RunFacts> = {}): RunFacts => ({
  seed: 1, nodes: 3, channels: 1, clients: 2, leaseMs: 2000, requestedFaults: 2, elapsedMs: 60_000, faultPhaseMs: 50_000,
  injected: [fault(0, "kill"), fault(1, "migrate")], anomalies: [],
  failover: [{ fault: 0, kind: "kill", ch: "a", ms: 2_000 }, { fault: 1, kind: "migrate", ch: "a", ms: 100 }],
  check: check(100), lagging: [], drainMs: 200, unackedAtEnd: 0, silences: [{ ch: "a", ms: 2_100, from: 0 }], out: "/tmp/x",
  ...over,
});

describe("chaos summary", () => {
  it("summary - a clean run passes, with kill and pause as the headline failover", () => {
    const s = summarize(facts());
    expect(s.ok).toBe(true);
    expect(s.failures).toEqual([]);
    expect(s.failover).toMatchObject({ n: 1, p50: 2_000, max: 2_000, unrecovered: 0 });
    expect(s.failover.byKind["migrate"]).toMatchObject({ n: 1, p50: 100 });
    expect(formatSummary(s)).toContain("storm chaos: PASS");
  });

  it("summary - fails on a violation, a fault not injected, no ack, an unacked publish, a lagging subscriber", () => {
    const violation = { kind: "delivery_gap" as const, ch: "a", message: "skipped", evidence: [] };
    const cases: Array<[Partial<RunFacts>, string]> = [
      [{ check: check(100, [violation]) }, "violation"],
      [{ injected: [fault(0, "kill"), fault(1, "migrate", false)] }, "only 1 of 2 faults"],
      [{ check: check(0) }, "no publish was acknowledged"],
      [{ unackedAtEnd: 3 }, "3 publish(es) never acknowledged"],
      [{ lagging: [{ client: "c1", ch: "a", lastSeq: 5, target: 9 }] }, "never caught up"],
    ];
    for (const [over, why] of cases) {
      const s = summarize(facts(over));
      expect(s.ok, why).toBe(false);
      expect(s.failures.join("; ")).toContain(why);
    }
  });

  it("summary - a paused node that does not rejoin in place fails the run; a node dying on its own is only reported", () => {
    const paused = summarize(facts({ anomalies: [{ at: 1, node: "n1", kind: "pause", what: "n1.x, stopped for 3000 ms (longer than its lease), exited 75 instead of rejoining" }] }));
    expect(paused.ok).toBe(false);
    expect(paused.failures.join("; ")).toContain("did not rejoin in place");
    const died = summarize(facts({ anomalies: [{ at: 1, node: "n2", kind: "exit", what: "n2.y exited on its own (75)" }] }));
    expect(died.ok).toBe(true);
    expect(formatSummary(died)).toContain("exited on its own");
  });
});
