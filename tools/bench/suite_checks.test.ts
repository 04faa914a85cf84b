import { describe, expect, it } from "vitest";
import type { FanoutOutput } from "./fanout_bench.ts";
import { B_CPU_TYPICAL, checkManyRoomsCpu, describeCpuChecks } from "./suite_checks.ts";

/** A (b) result as fanout_bench writes it, reduced to what the check reads: server µs per delivery per target. */
function run(us: Record<string, number>): FanoutOutput {
  return {
    results: Object.entries(us).map(([target, server]) => ({ target, cpuDetail: { usPerDelivery: { server, machine: 0, load: 0 } } })),
  } as unknown as FanoutOutput;
}

describe("suite regression check", () => {
  it("suite check - Storm's CPU per delivery in (b) within the bound of raw-batched's passes", () => {
    const [c] = checkManyRoomsCpu([run({ "raw-batched": 20, storm: 70 })]);
    expect(c).toEqual({ ratio: 3.5, storm: 70, raw: 20, ok: true });
  });

  it("suite check - a 2x regression from the typical ratio fails the quick suite", () => {
    expect(checkManyRoomsCpu([run({ "raw-batched": 20, storm: 20 * B_CPU_TYPICAL })])[0]!.ok).toBe(true);
    const doubled = checkManyRoomsCpu([run({ "raw-batched": 20, storm: 20 * B_CPU_TYPICAL * 2.05 })]);
    expect(doubled[0]!.ok).toBe(false);
    expect(describeCpuChecks(doubled)).toContain("FAILED");
  });

  it("suite check - a run without Storm's or raw-batched's figures fails, as does a failed target", () => {
    const missing = checkManyRoomsCpu([run({ "raw-batched": 20 }), null]);
    expect(missing.map((c) => c.ok)).toEqual([false, false]);
    const failed = run({ "raw-batched": 20, storm: 30 });
    (failed.results[1] as { error?: string }).error = "server exited";
    expect(checkManyRoomsCpu([failed])[0]!.ok).toBe(false);
  });

  it("suite check - every repeated run is checked: one bad run fails", () => {
    const checks = checkManyRoomsCpu([run({ "raw-batched": 20, storm: 60 }), run({ "raw-batched": 10, storm: 200 })]);
    expect(checks.map((c) => c.ok)).toEqual([true, false]);
  });
});
