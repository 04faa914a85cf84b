import type { DayPlan, Incident, IncidentKind } from "./schedule.ts";
import { impactWindow, rateFactorAt } from "./schedule.ts";

/** What the load processes count in a second (each reports its own; the day sums them). */
export interface DayCounts {
  /** Connections ready (authenticated and subscribed) at the end of the second. */
  open: number;
  /** Connection attempts that ended (ready or failed) in the second. */
  attempts: number;
  ready: number;
  failed: number;
  /** Ready connections lost (closed by the server, a dead node, a health check, a reconnect). */
  dropped: number;
  /** Ready connections closed on purpose by churn (they resume at once). */
  churned: number;
  pubs: number;
  acks: number;
  /** Publishes refused (`err`) or not acked within the timeout. */
  pubErrors: number;
  delivered: number;
  /** Of them, replayed to a resuming subscription (published before it was made; not in deliver p99). */
  replayed: number;
  /** Deliveries that skipped seqs / repeated or went back (bulk clients' own order check). */
  gaps: number;
  dups: number;
}

/** One second of the day, summed over every load process. Counts are for that second. */
export interface Point extends DayCounts {
  /** ms after the day starts, at the end of the second. */
  t: number;
  /** ms; 0 when nothing was measured in the second. */
  ackP99: number;
  deliverP99: number;
  /** Nodes up (listening, not under an incident). */
  nodesUp: number;
}

/** What an incident did, measured from the points and the injector's record. */
export interface Impact {
  kind: IncidentKind;
  label: string;
  plannedAtMs: number;
  /** When it was injected, ms after the start. */
  atMs: number;
  /** When the injector was done with it (node back, service restarted, spike over), ms after the start. */
  doneAtMs?: number;
  outcome: string;
  /** First second whose signals left normal (dropped connections, errors, acks halved, ack p99 over target). */
  detectedAtMs?: number;
  /** Start of the first 3 s of normal signals after the detection. */
  recoveredAtMs?: number;
  /** Longest run of seconds with acks under half the rate of the 10 s before (scaled by the spike's factor). */
  stallMs: number;
  dropped: number;
  failedConnects: number;
  pubErrors: number;
  maxAckP99: number;
  maxDeliverP99: number;
}

export interface Injected {
  kind: IncidentKind;
  atMs: number;
  doneAtMs?: number;
  outcome: string;
}

const BASELINE_MS = 10_000;
const CLEAR_SECONDS = 3;

/** Measures each incident in its window (from it to the next one). `ackTargetMs`: the ack p99 SLO. */
export function measureImpacts(plan: DayPlan, points: readonly Point[], injected: readonly Injected[], ackTargetMs: number): Impact[] {
  return plan.incidents.map((inc) => {
    const rec = injected.find((x) => x.kind === inc.kind);
    return measureOne(plan, inc, rec, points, ackTargetMs);
  });
}

function measureOne(plan: DayPlan, inc: Incident, rec: Injected | undefined, points: readonly Point[], ackTargetMs: number): Impact {
  const win = impactWindow(plan, inc);
  const at = rec?.atMs ?? inc.atMs;
  const impact: Impact = {
    kind: inc.kind, label: inc.label, plannedAtMs: inc.atMs, atMs: at, outcome: rec?.outcome ?? "not injected",
    stallMs: 0, dropped: 0, failedConnects: 0, pubErrors: 0, maxAckP99: 0, maxDeliverP99: 0,
  };
  if (rec?.doneAtMs !== undefined) impact.doneAtMs = rec.doneAtMs;
  if (!rec) return impact;
  // Acks per second at the base rate in the 10 s before; a second's expected acks scale with the
  // rate factor then (the spike), so a spike just before does not make ordinary seconds look stalled.
  const factor = (p: Point) => rateFactorAt(plan, p.t - 500);
  const before = points.filter((p) => p.t > at - BASELINE_MS && p.t <= at);
  const baseline = before.length > 0 ? before.reduce((s, p) => s + p.acks / factor(p), 0) / before.length : 0;
  const stalled = (p: Point) => p.acks < (baseline * factor(p)) / 2;
  const inWin = points.filter((p) => p.t > at && p.t <= Math.max(win.toMs, at + 1000));
  const abnormal = (p: Point) => p.dropped > 0 || p.pubErrors > 0 || p.failed > 0 || stalled(p) || p.ackP99 > ackTargetMs;
  let run = 0;
  let clear = 0;
  for (const p of inWin) {
    impact.dropped += p.dropped;
    impact.failedConnects += p.failed;
    impact.pubErrors += p.pubErrors;
    impact.maxAckP99 = Math.max(impact.maxAckP99, p.ackP99);
    impact.maxDeliverP99 = Math.max(impact.maxDeliverP99, p.deliverP99);
    run = stalled(p) ? run + 1 : 0;
    impact.stallMs = Math.max(impact.stallMs, run * 1000);
    if (impact.detectedAtMs === undefined) {
      // The start of the abnormal second, but never before the injection itself.
      if (abnormal(p)) impact.detectedAtMs = Math.max(at, p.t - 1000);
      continue;
    }
    if (impact.recoveredAtMs !== undefined) continue;
    clear = abnormal(p) ? 0 : clear + 1;
    if (clear === CLEAR_SECONDS) impact.recoveredAtMs = p.t - CLEAR_SECONDS * 1000;
  }
  return impact;
}
