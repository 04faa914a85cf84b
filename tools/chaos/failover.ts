import type { HistoryEvent } from "../checker/history.ts";
import type { JournalRow } from "../checker/journal.ts";
import type { FaultKind } from "./nemesis.ts";

/** The fields of an injected fault that failover times need. */
export interface FaultMark {
  index: number;
  kind: FaultKind;
  /** Injection time, ms since the Unix epoch. */
  at: number;
  /** Channels whose actor the fault displaced. */
  affected: readonly string[];
}

export interface FailoverSample {
  fault: number;
  kind: FaultKind;
  ch: string;
  /** ms from the injection to the first ack of a message accepted after it; null: none came. */
  ms: number | null;
}

/**
 * Failover time of each channel a fault displaced: from the injection to the first ack, on that
 * channel, of a message the server accepted after the injection (journal `ts` > injection time).
 * Requiring acceptance after the fault leaves out acks that were merely in flight when it hit,
 * so the time measured is that of a new owner serving the channel. All clocks are this machine's.
 */
export function failoverTimes(faults: readonly FaultMark[], events: readonly HistoryEvent[], rows: readonly JournalRow[]): FailoverSample[] {
  const acceptedAt = new Map<string, number>();
  for (const r of rows) if (r.ts !== undefined) acceptedAt.set(key(r.ch, r.cid), r.ts);
  const acks = new Map<string, Array<{ t: number; accepted: number }>>();
  for (const e of events) {
    if (e.k !== "ack" || e.t === undefined) continue;
    const accepted = acceptedAt.get(key(e.ch, e.cid));
    if (accepted === undefined) continue;
    let list = acks.get(e.ch);
    if (!list) acks.set(e.ch, (list = []));
    list.push({ t: e.t, accepted });
  }
  for (const list of acks.values()) list.sort((a, b) => a.t - b.t);
  const out: FailoverSample[] = [];
  for (const f of faults) {
    for (const ch of f.affected) {
      const first = acks.get(ch)?.find((a) => a.t >= f.at && a.accepted > f.at);
      out.push({ fault: f.index, kind: f.kind, ch, ms: first ? first.t - f.at : null });
    }
  }
  return out;
}

export interface Percentiles {
  n: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

/** Nearest-rank percentiles of `values` (nulls left out). */
export function percentiles(values: ReadonlyArray<number | null>): Percentiles {
  const xs = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  const rank = (p: number) => (xs.length === 0 ? null : xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!);
  return { n: xs.length, p50: rank(50), p99: rank(99), max: xs.length === 0 ? null : xs.at(-1)! };
}

function key(ch: string, cid: string): string {
  return `${ch}\u0000${cid}`;
}

export interface Silence {
  ch: string;
  /** The longest time in the window with no row committed to the channel (journal `ts`). */
  ms: number;
  /** When it began, ms since the Unix epoch. */
  from: number;
}

/**
 * For each channel, the longest stretch of [from, to] without a commit: under a steady load, how
 * long the channel was unavailable, whatever the cause (failover, a stuck activation, routing).
 */
export function longestSilences(channels: readonly string[], rows: readonly JournalRow[], from: number, to: number): Silence[] {
  return channels.map((ch) => {
    const times = rows.filter((r) => r.ch === ch && r.ts !== undefined && r.ts >= from && r.ts <= to).map((r) => r.ts!).sort((a, b) => a - b);
    let best: Silence = { ch, ms: 0, from };
    let prev = from;
    for (const t of [...times, to]) {
      if (t - prev > best.ms) best = { ch, ms: t - prev, from: prev };
      prev = t;
    }
    return best;
  });
}
