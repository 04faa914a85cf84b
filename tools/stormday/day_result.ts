import type { DayPlan } from "./schedule.ts";
import type { DayTotals, Verdict } from "./slo.ts";
import type { Impact, Point } from "./timeline.ts";

/** Everything a Storm Day run measured: what the HTML report and the post-mortem are written from. */
export interface DayResult {
  /** The command that produced it. */
  command: string;
  /** ISO time of the start. */
  date: string;
  machine: string;
  quick: boolean;
  scale: {
    connections: number;
    nodes: number;
    loadProcs: number;
    leaseMs: number;
    hugeRooms: number;
    hugeSize: number;
    smallRooms: number;
    dms: number;
    /** Base publishes/s of the bulk users (the spike multiplies it). */
    rate: number;
    recordingClients: number;
    /** Why this scale (e.g. why not 100,000): stated in the report. */
    note: string;
  };
  /** Failed connects and publish errors over the day, by kind (`connect:ECONNREFUSED`, `pub:unavailable`, ...). */
  errors: Record<string, number>;
  /** Setup (rooms and memberships created over REST) and ramp figures. */
  setupMs: number;
  /** ms from the first attempt until 99 % of `connections` were ready at once (undefined: never). */
  rampDoneMs?: number;
  peakOpen: number;
  plan: DayPlan;
  points: Point[];
  impacts: Impact[];
  totals: DayTotals;
  verdicts: Verdict[];
  /** What the cluster did unasked (a node exiting on its own, ...), for people. */
  anomalies: string[];
  /** Hard invariants held. */
  ok: boolean;
}
