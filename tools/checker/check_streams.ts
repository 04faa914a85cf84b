import { range } from "./check_journal.ts";
import type { ConnId, DeliverEvent, HistoryEvent, ResumeEvent, TruncatedEvent } from "./history.ts";
import type { Violation } from "./violation.ts";

/**
 * One subscription stream: what one client's connection received on one channel after one
 * `resume` (or from the connection's first delivery, after 0). G1 and G4 promise each stream the
 * seqs `after+1, after+2, ...` exactly once and in order, except a range the server declared gone.
 * A stream may end anywhere (its connection closed): only seqs missing before its last delivery
 * are a gap.
 */
interface Stream {
  client: string;
  conn: ConnId;
  ch: string;
  after: number;
  resume?: ResumeEvent;
  truncated?: TruncatedEvent;
  deliveries: DeliverEvent[];
}

/** Checks every stream of the history (internal); returns how many streams there were. */
export function checkStreams(events: readonly HistoryEvent[], out: Violation[]): number {
  const current = new Map<string, Stream>();
  const streams: Stream[] = [];
  const streamOf = (e: { client: string; conn: ConnId; ch: string }, resume?: ResumeEvent): Stream => {
    const key = JSON.stringify([e.client, e.conn, e.ch]);
    let s = current.get(key);
    if (s === undefined || resume !== undefined) {
      s = { client: e.client, conn: e.conn, ch: e.ch, after: resume?.after ?? 0, deliveries: [] };
      if (resume) s.resume = resume;
      current.set(key, s);
      streams.push(s);
    }
    return s;
  };
  for (const e of events) {
    if (e.k === "resume") streamOf(e, e);
    else if (e.k === "truncated") streamOf(e).truncated = e;
    else if (e.k === "deliver") streamOf(e).deliveries.push(e);
  }
  for (const s of streams) checkStream(s, out);
  return streams.length;
}

function checkStream(s: Stream, out: Violation[]): void {
  const name = `stream of client "${s.client}" on connection ${JSON.stringify(s.conn)} (after ${s.after})`;
  const head: HistoryEvent[] = [s.resume, s.truncated].filter((e) => e !== undefined);
  const seen = new Map<number, DeliverEvent>();
  let newest: DeliverEvent | undefined;
  for (const d of s.deliveries) {
    const earlier = seen.get(d.seq);
    if (earlier) {
      out.push({ kind: "delivery_duplicate", ch: s.ch, message: `${name} delivered seq ${d.seq} twice`, evidence: [earlier, d] });
    } else if (d.seq <= s.after) {
      out.push({
        kind: "delivery_duplicate",
        ch: s.ch,
        message: `${name} delivered seq ${d.seq}, at or before its resume position`,
        evidence: [...head, d],
      });
    } else {
      if (newest && d.seq < newest.seq) {
        out.push({ kind: "delivery_reorder", ch: s.ch, message: `${name} delivered seq ${d.seq} after seq ${newest.seq}`, evidence: [newest, d] });
      }
      seen.set(d.seq, d);
      if (!newest || d.seq > newest.seq) newest = d;
    }
  }
  // Seqs the server declared gone (truncated history) are not expected.
  let prev = Math.max(s.after + 1, s.truncated?.first ?? 0) - 1;
  let before: DeliverEvent | undefined;
  for (const seq of [...seen.keys()].sort((a, b) => a - b)) {
    const d = seen.get(seq)!;
    if (seq > prev + 1) {
      const evidence = [...(before ? [before] : head), d];
      out.push({ kind: "delivery_gap", ch: s.ch, message: `${name} skipped seq ${range(prev + 1, seq - 1)}`, evidence });
    }
    prev = Math.max(prev, seq);
    before = d;
  }
}
