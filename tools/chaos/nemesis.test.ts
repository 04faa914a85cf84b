import { describe, expect, it } from "vitest";
import { FAULT_KINDS, type Fault, maxDown, NODE_DOWN_KINDS, planEndMs, planFaults, planRolling, type PlanOptions } from "./nemesis.ts";
import { Random } from "./random.ts";

const CI: PlanOptions = { seed: 1, faults: 24, durationMs: 120_000, nodes: 3, channels: 4, leaseMs: 2_000 };

/** The most node faults whose modelled downtimes overlap at one instant. */
function peakDown(plan: readonly Fault[]): number {
  const spans = plan.filter((f) => NODE_DOWN_KINDS.has(f.kind)).map((f) => [f.atMs, f.atMs + f.downMs] as const);
  return Math.max(0, ...spans.map(([t]) => spans.filter(([from, to]) => from <= t && t < to).length));
}

describe("nemesis schedule", () => {
  it("nemesis - the same seed gives the same schedule", () => {
    expect(planFaults(CI)).toEqual(planFaults(CI));
  });

  it("nemesis - another seed gives another schedule", () => {
    expect(planFaults({ ...CI, seed: 2 })).not.toEqual(planFaults(CI));
  });

  it("nemesis - plans exactly the requested number of faults, in time order", () => {
    for (const faults of [0, 1, 5, 24, 120]) {
      const plan = planFaults({ ...CI, faults });
      expect(plan).toHaveLength(faults);
      expect(plan.map((f) => f.index)).toEqual(plan.map((_, i) => i));
      for (let i = 1; i < plan.length; i++) expect(plan[i]!.atMs).toBeGreaterThanOrEqual(plan[i - 1]!.atMs);
    }
  });

  it("nemesis - every kind appears once there are as many faults as kinds", () => {
    for (let seed = 0; seed < 50; seed++) {
      const kinds = new Set(planFaults({ ...CI, seed, faults: FAULT_KINDS.length }).map((f) => f.kind));
      expect([...kinds].sort()).toEqual([...FAULT_KINDS].sort());
    }
  });

  it("nemesis - the CI schedule has at least 20 kills, pauses and migrations together", () => {
    const plan = planFaults(CI);
    expect(plan.filter((f) => ["kill", "pause", "migrate"].includes(f.kind)).length).toBeGreaterThanOrEqual(16);
    expect(plan.length).toBeGreaterThanOrEqual(20);
  });

  it("nemesis - never takes down a majority: at most one of 3 nodes, two of 5, one of 2", () => {
    expect([maxDown(1), maxDown(2), maxDown(3), maxDown(4), maxDown(5), maxDown(7)]).toEqual([0, 1, 1, 1, 2, 3]);
    for (let seed = 0; seed < 200; seed++) {
      for (const nodes of [2, 3, 5]) {
        const plan = planFaults({ ...CI, seed, nodes, faults: 60, durationMs: 60_000 });
        expect(peakDown(plan)).toBeLessThanOrEqual(maxDown(nodes));
      }
    }
  });

  it("nemesis - never hits a node that is modelled down, and drains only live nodes", () => {
    for (let seed = 0; seed < 200; seed++) {
      const plan = planFaults({ ...CI, seed, nodes: 5, faults: 60, durationMs: 60_000 });
      const downs = plan.filter((f) => NODE_DOWN_KINDS.has(f.kind));
      for (const f of plan.filter((x) => x.node !== undefined)) {
        const hit = downs.find((d) => d !== f && d.node === f.node && d.atMs <= f.atMs && f.atMs < d.atMs + d.downMs);
        expect(hit, `fault ${f.index} (${f.kind} n${f.node}) at ${f.atMs} ms hits a node down since fault ${hit?.index}`).toBeUndefined();
      }
    }
  });

  it("nemesis - pauses outlast the lease, kills restart after a hold, targets are in range", () => {
    for (let seed = 0; seed < 100; seed++) {
      for (const f of planFaults({ ...CI, seed })) {
        if (f.kind === "pause") expect(f.holdMs!).toBeGreaterThan(CI.leaseMs);
        if (f.kind === "kill") expect(f.holdMs!).toBeGreaterThan(0);
        if (f.node !== undefined) expect(f.node).toBeLessThan(CI.nodes);
        if (f.kind === "migrate") {
          expect(f.channel!).toBeLessThan(CI.channels);
          expect(f.pick!).toBeGreaterThanOrEqual(0);
          expect(f.pick!).toBeLessThan(1);
        }
        expect(f.downMs > 0).toBe(NODE_DOWN_KINDS.has(f.kind));
      }
    }
  });

  it("nemesis - the CI schedule fits its duration", () => {
    expect(planEndMs(planFaults(CI))).toBeLessThanOrEqual(CI.durationMs);
  });

  it("nemesis - a single node gets only migrations", () => {
    const kinds = new Set(planFaults({ ...CI, nodes: 1 }).map((f) => f.kind));
    expect([...kinds]).toEqual(["migrate"]);
  });
});

describe("Random", () => {
  it("random - a seed replays its sequence; floats stay in [0, 1)", () => {
    const a = new Random(7);
    const b = new Random(7);
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b.next()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(xs).size).toBeGreaterThan(990);
  });

  it("nemesis - a rolling restart restarts every node once, in node order, never two at once as modelled", () => {
    const plan = planRolling({ nodes: 3 });
    expect(plan.map((f) => [f.kind, f.node])).toEqual([["restart", 0], ["restart", 1], ["restart", 2]]);
    expect(peakDown(plan)).toBe(1);
    expect(() => planRolling({ nodes: 1 })).toThrow(RangeError);
  });
});
