import { describe, expect, it } from "vitest";
import { planDay } from "./schedule.ts";
import { measureImpacts, type Point } from "./timeline.ts";

/** A calm second: 100 acks, nothing dropped. */
function calm(t: number, over: Partial<Point> = {}): Point {
  return {
    t, open: 1_000, attempts: 0, ready: 0, failed: 0, dropped: 0, churned: 0, pubs: 100, acks: 100, pubErrors: 0, delivered: 2_000, replayed: 0,
    gaps: 0, dups: 0, ackP99: 20, deliverP99: 25, nodesUp: 3, ...over,
  };
}

// 10 s between incidents: incidents fall on whole seconds.
const plan = planDay({ rampS: 15, steadyS: 80, leaseMs: 3_000, spikeS: 5 });
const kill = plan.incidents.find((i) => i.kind === "kill")!;

/** Seconds of the day up to its end, calm except where `at` says otherwise (keyed by second). */
function day(at: Record<number, Partial<Point>>): Point[] {
  return Array.from({ length: plan.endMs / 1000 }, (_, k) => calm((k + 1) * 1000, at[k + 1] ?? {}));
}

describe("Storm Day timeline", () => {
  it("impact - a stall is the longest run of seconds with acks under half the rate before", () => {
    const s = kill.atMs / 1000;
    const points = day({ [s + 1]: { acks: 10, dropped: 300 }, [s + 2]: { acks: 0 }, [s + 3]: { acks: 40 }, [s + 4]: { acks: 90 }, [s + 5]: { acks: 10 } });
    const [impact] = measureImpacts(plan, points, [{ kind: "kill", atMs: kill.atMs, outcome: "SIGKILL" }], 500);
    expect(impact!.stallMs).toBe(3_000);
    expect(impact!.dropped).toBe(300);
  });

  it("impact - detected at the first abnormal second, recovered at the start of 3 normal ones", () => {
    const s = kill.atMs / 1000;
    const points = day({ [s + 2]: { dropped: 5 }, [s + 3]: { ackP99: 900 }, [s + 5]: { pubErrors: 1 } });
    const [impact] = measureImpacts(plan, points, [{ kind: "kill", atMs: kill.atMs, outcome: "x" }], 500);
    expect(impact!.detectedAtMs).toBe(kill.atMs + 1_000);
    expect(impact!.recoveredAtMs).toBe(kill.atMs + 5_000);
    expect(impact!.maxAckP99).toBe(900);
  });

  it("impact - an incident without client-visible effect is neither detected nor stalled", () => {
    const [impact] = measureImpacts(plan, day({}), [{ kind: "kill", atMs: kill.atMs, outcome: "x" }], 500);
    expect(impact!.detectedAtMs).toBeUndefined();
    expect(impact!.recoveredAtMs).toBeUndefined();
    expect(impact!.stallMs).toBe(0);
  });

  it("impact - an incident never injected says so and is not measured", () => {
    const impacts = measureImpacts(plan, day({ [kill.atMs / 1000 + 1]: { dropped: 9 } }), [], 500);
    expect(impacts).toHaveLength(plan.incidents.length);
    expect(impacts[0]!.outcome).toBe("not injected");
    expect(impacts[0]!.dropped).toBe(0);
  });

  it("impact - counts stay inside the incident's window (the next incident's seconds are its own)", () => {
    const next = plan.incidents[1]!;
    const points = day({ [next.atMs / 1000 + 1]: { dropped: 50 } });
    const [first, second] = measureImpacts(plan, points, plan.incidents.map((i) => ({ kind: i.kind, atMs: i.atMs, outcome: "ok" })), 500);
    expect(first!.dropped).toBe(0);
    expect(second!.dropped).toBe(50);
  });

  it("impact - the injector's done time is carried over", () => {
    const [impact] = measureImpacts(plan, day({}), [{ kind: "kill", atMs: kill.atMs + 300, doneAtMs: kill.atMs + 9_000, outcome: "back" }], 500);
    expect(impact!.atMs).toBe(kill.atMs + 300);
    expect(impact!.doneAtMs).toBe(kill.atMs + 9_000);
  });

  it("impact - a spike just before does not make ordinary seconds after it look stalled", () => {
    const spike = plan.incidents.find((i) => i.kind === "spike")!;
    const next = plan.incidents[plan.incidents.indexOf(spike) + 1]!;
    const busy: Record<number, Partial<Point>> = {};
    for (let t = spike.atMs / 1000 + 1; t <= (spike.atMs + spike.holdMs) / 1000; t++) busy[t] = { pubs: 1_000, acks: 1_000 };
    const impacts = measureImpacts(plan, day(busy), plan.incidents.map((i) => ({ kind: i.kind, atMs: i.atMs, outcome: "ok" })), 500);
    const after = impacts.find((i) => i.kind === next.kind)!;
    expect(after.stallMs).toBe(0);
    expect(after.detectedAtMs).toBeUndefined();
  });
});
