/**
 * Storm Day's timetable: a ramp of connections, then a steady phase with one incident of each kind
 * at evenly spaced, set times, so every run (quick or full) meets the same incidents in the same
 * order and each has the same time to show its impact and recover before the next. Pure.
 *
 * The Hazelcast restart comes last: with a single member, every node loses its lease while the
 * member is down and drops all its actors (it rejoins, its clients kept, once the member is back);
 * last, it has the rest of the day to recover in (two slots instead of one), and does not blur the
 * other incidents' measurements.
 */
export type IncidentKind = "kill" | "pause" | "postgres" | "hazelcast" | "spike" | "reconnect";

export const INCIDENT_KINDS: readonly IncidentKind[] = ["kill", "pause", "postgres", "spike", "reconnect", "hazelcast"];

export interface Incident {
  kind: IncidentKind;
  /** ms after the day starts (the first connection attempt). */
  atMs: number;
  /** kill: how long the node stays dead; pause: how long it stays stopped; spike: how long it lasts. */
  holdMs: number;
  /** reconnect: the share of connected clients dropped at once; spike: the publish-rate factor. */
  factor: number;
  /** What it is, for people. */
  label: string;
}

export interface DayPlan {
  rampMs: number;
  /** End of the steady phase (ms after the start): publishing stops, the drain begins. */
  endMs: number;
  incidents: Incident[];
}

export interface DayOptions {
  rampS: number;
  steadyS: number;
  /** The nodes' lease: a pause lasts longer than it. */
  leaseMs: number;
  spikeS?: number;
  spikeFactor?: number;
  reconnectShare?: number;
  /** kill: how long the node stays dead before its restart (default 3 s). */
  deadS?: number;
}

/** The shortest time between two incidents: room for the impact and the recovery. */
export const MIN_GAP_MS = 10_000;

/**
 * @throws {RangeError} `Cannot plan Storm Day: ...` when the steady phase leaves less than
 * MIN_GAP_MS between incidents, or the spike does not fit in its slot.
 */
export function planDay(o: DayOptions): DayPlan {
  const rampMs = Math.round(o.rampS * 1000);
  const steadyMs = Math.round(o.steadyS * 1000);
  const slots = INCIDENT_KINDS.length + 2;
  const gap = Math.floor(steadyMs / slots);
  if (!(gap >= MIN_GAP_MS)) {
    throw new RangeError(`Cannot plan Storm Day: a steady phase of ${o.steadyS} s leaves ${gap} ms between incidents (at least ${MIN_GAP_MS} ms are needed: ${(MIN_GAP_MS * slots) / 1000} s or more)`);
  }
  const spikeMs = Math.round((o.spikeS ?? 10) * 1000);
  if (spikeMs >= gap) throw new RangeError(`Cannot plan Storm Day: a spike of ${spikeMs} ms does not fit in ${gap} ms between incidents`);
  const factor = o.spikeFactor ?? 10;
  const share = o.reconnectShare ?? 0.2;
  const pauseMs = o.leaseMs + 2_000;
  const deadMs = Math.round((o.deadS ?? 3) * 1000);
  const what: Record<IncidentKind, [number, number, string]> = {
    kill: [deadMs, 1, `a node SIGKILLed, restarted ${deadMs / 1000} s later`],
    pause: [pauseMs, 1, `a node SIGSTOPped for ${pauseMs / 1000} s (lease ${o.leaseMs / 1000} s), then SIGCONT`],
    postgres: [0, 1, "PostgreSQL restarted (fast shutdown, start)"],
    hazelcast: [0, 1, "the Hazelcast member restarted (its maps come back empty)"],
    spike: [spikeMs, factor, `publish rate x${factor} for ${spikeMs / 1000} s`],
    reconnect: [0, share, `${Math.round(share * 100)} % of clients reconnecting at once`],
  };
  const incidents = INCIDENT_KINDS.map((kind, k): Incident => {
    const [holdMs, f, label] = what[kind];
    return { kind, atMs: rampMs + gap * (k + 1), holdMs, factor: f, label };
  });
  return { rampMs, endMs: rampMs + steadyMs, incidents };
}

/** The publish-rate factor at `tMs` (the spike's factor inside its window, else 1). */
export function rateFactorAt(plan: DayPlan, tMs: number): number {
  for (const i of plan.incidents) if (i.kind === "spike" && tMs >= i.atMs && tMs < i.atMs + i.holdMs) return i.factor;
  return 1;
}

/** `ramp`, `steady`, or `drain` after the end. */
export function phaseAt(plan: DayPlan, tMs: number): "ramp" | "steady" | "drain" {
  return tMs < plan.rampMs ? "ramp" : tMs < plan.endMs ? "steady" : "drain";
}

/** The window an incident's impact is measured in: from it to the next incident (or the end). */
export function impactWindow(plan: DayPlan, i: Incident): { fromMs: number; toMs: number } {
  const later = plan.incidents.filter((x) => x.atMs > i.atMs).map((x) => x.atMs);
  return { fromMs: i.atMs, toMs: Math.min(plan.endMs, ...later) };
}
