import { describe, expect, it } from "vitest";
import { impactWindow, INCIDENT_KINDS, MIN_GAP_MS, phaseAt, planDay, rateFactorAt } from "./schedule.ts";

const QUICK = { rampS: 15, steadyS: 105, leaseMs: 3_000 };

describe("Storm Day schedule", () => {
  it("schedule - plans one incident of each kind, in time order, inside the steady phase", () => {
    const plan = planDay(QUICK);
    expect(plan.incidents.map((i) => i.kind).sort()).toEqual([...INCIDENT_KINDS].sort());
    for (let k = 1; k < plan.incidents.length; k++) expect(plan.incidents[k]!.atMs).toBeGreaterThan(plan.incidents[k - 1]!.atMs);
    expect(plan.incidents[0]!.atMs).toBeGreaterThan(plan.rampMs);
    expect(plan.endMs).toBe(120_000);
    expect(plan.incidents.at(-1)!.atMs).toBeLessThan(plan.endMs);
  });

  it("schedule - the Hazelcast restart comes last, with two slots to recover in", () => {
    const plan = planDay(QUICK);
    const last = plan.incidents.at(-1)!;
    const before = plan.incidents.at(-2)!;
    expect(last.kind).toBe("hazelcast");
    expect(plan.endMs - last.atMs).toBeGreaterThanOrEqual(2 * (last.atMs - before.atMs) - 1);
  });

  it("schedule - a pause lasts longer than the lease", () => {
    for (const leaseMs of [1_000, 3_000, 10_000]) {
      expect(planDay({ ...QUICK, leaseMs }).incidents.find((i) => i.kind === "pause")!.holdMs).toBeGreaterThan(leaseMs);
    }
  });

  it("schedule - the spike multiplies the rate inside its window only", () => {
    const plan = planDay({ ...QUICK, spikeFactor: 10, spikeS: 8 });
    const spike = plan.incidents.find((i) => i.kind === "spike")!;
    expect(rateFactorAt(plan, spike.atMs - 1)).toBe(1);
    expect(rateFactorAt(plan, spike.atMs)).toBe(10);
    expect(rateFactorAt(plan, spike.atMs + 7_999)).toBe(10);
    expect(rateFactorAt(plan, spike.atMs + 8_000)).toBe(1);
  });

  it("schedule - the reconnect storm carries the share of clients dropped", () => {
    expect(planDay({ ...QUICK, reconnectShare: 0.2 }).incidents.find((i) => i.kind === "reconnect")!.factor).toBe(0.2);
  });

  it("schedule - a steady phase too short for the incidents is refused with the minimum", () => {
    expect(() => planDay({ ...QUICK, steadyS: 30 })).toThrow(/Cannot plan Storm Day: a steady phase of 30 s .* 80 s or more/);
    expect(() => planDay({ ...QUICK, steadyS: (MIN_GAP_MS * 8) / 1000, spikeS: 5 })).not.toThrow();
  });

  it("schedule - a spike longer than its slot is refused", () => {
    expect(() => planDay({ ...QUICK, spikeS: 20 })).toThrow(/spike of 20000 ms does not fit/);
  });

  it("schedule - phases: ramp, then steady, then drain", () => {
    const plan = planDay(QUICK);
    expect(phaseAt(plan, 0)).toBe("ramp");
    expect(phaseAt(plan, 15_000)).toBe("steady");
    expect(phaseAt(plan, 120_000)).toBe("drain");
  });

  it("schedule - an incident's window runs to the next incident, the last one's to the end", () => {
    const plan = planDay(QUICK);
    const [a, b] = plan.incidents;
    expect(impactWindow(plan, a!)).toEqual({ fromMs: a!.atMs, toMs: b!.atMs });
    expect(impactWindow(plan, plan.incidents.at(-1)!).toMs).toBe(plan.endMs);
  });
});
