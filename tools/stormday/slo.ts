import type { Point } from "./timeline.ts";

/**
 * Storm Day's service-level objectives and how a day is judged against them. Loss, duplicates and
 * order (G1-G4, by the history checker and the bulk clients' own check) are hard invariants: a
 * day that breaks one fails. The SLOs are targets: a miss is reported (and fails only a full day
 * run with `--strict`).
 */
export interface SloTargets {
  /** Connection attempts that became ready (authenticated and subscribed), as a ratio. */
  connectSuccess: number;
  /** Publish to ack, ms, p99 over the day. */
  ackP99Ms: number;
  /** Publish to delivery on a subscriber, ms, p99 over the day. */
  deliverP99Ms: number;
}

export const DEFAULT_SLOS: SloTargets = { connectSuccess: 0.999, ackP99Ms: 500, deliverP99Ms: 1_000 };

export interface DayTotals {
  attempts: number;
  ready: number;
  /** p99 over every ack / delivery of the day, ms (from the merged histograms). */
  ackP99: number;
  deliverP99: number;
  gaps: number;
  dups: number;
  /** History checker: violations on the sampled rooms, and the acked messages it checked. */
  violations: number;
  checkedAcked: number;
  /** Recording clients after the drain: publishes never acked, subscriptions behind the last acked seq. */
  unacked: number;
  behind: number;
}

export interface Verdict {
  name: string;
  target: string;
  measured: string;
  ok: boolean;
  /** Hard invariant (fails the run) or SLO (reported). */
  hard: boolean;
  /** Share of the day's seconds (with traffic) that met the target, when it is per second. */
  secondsMet?: number;
}

export function judgeDay(t: DayTotals, points: readonly Point[], slo: SloTargets = DEFAULT_SLOS): Verdict[] {
  const ratio = t.attempts > 0 ? t.ready / t.attempts : 0;
  const share = (pred: (p: Point) => boolean, has: (p: Point) => boolean) => {
    const with_ = points.filter(has);
    return with_.length > 0 ? with_.filter(pred).length / with_.length : 1;
  };
  return [
    {
      name: "connect success", target: `>= ${pct(slo.connectSuccess)}`, measured: `${pct(ratio)} (${t.ready} of ${t.attempts})`,
      ok: ratio >= slo.connectSuccess, hard: false,
      secondsMet: share((p) => p.ready >= slo.connectSuccess * p.attempts, (p) => p.attempts > 0),
    },
    {
      name: "ack p99", target: `<= ${slo.ackP99Ms} ms`, measured: `${ms(t.ackP99)}`, ok: t.ackP99 <= slo.ackP99Ms, hard: false,
      secondsMet: share((p) => p.ackP99 <= slo.ackP99Ms, (p) => p.acks > 0),
    },
    {
      name: "deliver p99", target: `<= ${slo.deliverP99Ms} ms`, measured: `${ms(t.deliverP99)}`, ok: t.deliverP99 <= slo.deliverP99Ms, hard: false,
      secondsMet: share((p) => p.deliverP99 <= slo.deliverP99Ms, (p) => p.delivered > 0),
    },
    {
      name: "zero loss (history checker, sampled rooms)", target: "0 violations", hard: true,
      measured: `${t.violations} violation(s) over ${t.checkedAcked} acked messages`, ok: t.violations === 0 && t.checkedAcked > 0,
    },
    {
      name: "recovered (recording clients, after the drain)", target: "every publish acked, every subscription caught up", hard: false,
      measured: `${t.unacked} unacked, ${t.behind} subscription(s) behind`, ok: t.unacked === 0 && t.behind === 0,
    },
    {
      name: "order (bulk clients: no gap, no duplicate)", target: "0", hard: true,
      measured: `${t.gaps} gap(s), ${t.dups} duplicate(s)`, ok: t.gaps === 0 && t.dups === 0,
    },
  ];
}

function pct(x: number): string {
  return `${(x * 100).toFixed(x >= 0.999 && x < 1 ? 2 : 1)} %`;
}

function ms(x: number): string {
  return `${x >= 100 ? Math.round(x) : x.toFixed(1)} ms`;
}
