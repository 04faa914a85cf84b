// Regression checks the suite applies to its own results (bench/suite.ts): a check compares Storm
// with a baseline measured in the same run, so a slower machine moves both sides.
import type { FanoutOutput } from './fanout_bench.ts';
import type { TargetResult } from './fanout_report.ts';

/**
 * Storm's server CPU per delivery in (b) as a multiple of raw-batched `ws`'s in the same run, in
 * the quick suite's shape (200 rooms × 10, 500 msg/s): its typical value on the build the bound was
 * set on. Quick runs gave 2.2-4.8× on 2 cores shared by ~7 engineers (2026-12-03); a fixed cost
 * per publish weighs more in so small a run than in the full one.
 */
export const B_CPU_TYPICAL = 3.5;

/** The bound: a 2× regression from the typical ratio fails; the noise seen stays under it. */
export const B_CPU_PER_DELIVERY_BOUND = 2 * B_CPU_TYPICAL;

function ok(d: FanoutOutput | null | undefined, t: string): TargetResult | undefined {
  const r = d?.results?.find((x) => x.target === t);
  return r && !r.error && !r.skipped && r.cpuDetail ? r : undefined;
}

/** One run of (b) checked: Storm's server µs per delivery over raw-batched's, and whether it stays within the bound. */
export interface CpuCheck {
  ratio: number;
  storm: number;
  raw: number;
  ok: boolean;
}

/** Every run of (b) checked; a run without both figures (a target failed) fails the check. */
export function checkManyRoomsCpu(rounds: Array<FanoutOutput | null>, bound = B_CPU_PER_DELIVERY_BOUND): CpuCheck[] {
  return rounds.map((d) => {
    const s = ok(d, 'storm');
    const b = ok(d, 'raw-batched');
    if (!s || !b) return { ratio: NaN, storm: NaN, raw: NaN, ok: false };
    const storm = s.cpuDetail!.usPerDelivery.server;
    const raw = b.cpuDetail!.usPerDelivery.server;
    const ratio = storm / raw;
    return { ratio, storm, raw, ok: Number.isFinite(ratio) && ratio <= bound };
  });
}

/** The check's line for the report and the log: what was measured, against what bound. */
export function describeCpuChecks(checks: CpuCheck[], bound = B_CPU_PER_DELIVERY_BOUND): string {
  const runs = checks.map((c) => (Number.isFinite(c.ratio)
    ? `${c.ratio.toFixed(2)}× (${c.storm.toFixed(1)} / ${c.raw.toFixed(1)} µs)${c.ok ? '' : ' FAILED'}`
    : 'no figures (storm or raw-batched gave no result) FAILED'));
  return `(b) regression check, Storm's server CPU per delivery ≤ ${bound}× raw-batched's in the same run: ${runs.join('; ')}`;
}
