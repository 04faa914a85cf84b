import { checkJournal } from "./check_journal.ts";
import { checkStreams } from "./check_streams.ts";
import type { AckEvent, DeliverEvent, HistoryEvent, PubEvent } from "./history.ts";
import type { EpochRecord, Journal, JournalRow } from "./journal.ts";
import type { Evidence, Violation } from "./violation.ts";

export interface CheckOptions {
  /** Check only these channels (default: every channel of the history and of the journal). */
  channels?: readonly string[];
}

export interface CheckStats {
  /** Distinct messages published (channel and client id), retries counted once. */
  published: number;
  /** Distinct messages acknowledged at least once. */
  acked: number;
  /** `err` events: publishes that failed or whose outcome was unknown. */
  errors: number;
  /** Published, never acknowledged, yet committed. */
  unackedCommitted: number;
  /** Published, never acknowledged, not committed: allowed (the outcome was unknown), counted. */
  lostUnacked: number;
  /** `deliver` events. */
  delivered: number;
  streams: number;
  journalRows: number;
  /** The last journal seq of each checked channel (0 when its journal is empty). */
  lastSeq: Record<string, number>;
}

export interface CheckResult {
  violations: Violation[];
  stats: CheckStats;
}

/** One channel's history, indexed (internal to the check). */
interface ChannelFacts {
  rows: JournalRow[];
  epochs: EpochRecord[];
  pubs: Map<string, PubEvent[]>;
  acks: Map<string, AckEvent[]>;
  deliveries: Map<number, DeliverEvent[]>;
  inHistory: boolean;
}

/**
 * Checks client histories against the committed journal for G1–G5 and returns every violation
 * found, with its evidence, and counts. Pure: no I/O, and the same input gives the same output in
 * the same order (by channel, then journal, acks, contents, phantoms; streams last).
 *
 * Journal-only checks (gaps, duplicate client ids, fencing) cover every channel of the journal;
 * a journal row that no client published is a phantom only on a channel the history mentions, so
 * a journal shared with other runs does not flood the report.
 *
 * @example
 * const { violations } = checkHistory(events, { rows, epochs: [] });
 * if (violations.length > 0) console.log(violations.map((v) => `${v.kind}: ${v.message}`));
 */
export function checkHistory(events: readonly HistoryEvent[], journal: Journal, opts: CheckOptions = {}): CheckResult {
  const only = opts.channels ? new Set(opts.channels) : undefined;
  const inScope = (ch: string) => only === undefined || only.has(ch);
  const scoped = events.filter((e) => inScope(e.ch));
  const channels = new Map<string, ChannelFacts>();
  const facts = (ch: string): ChannelFacts => {
    let f = channels.get(ch);
    if (f) return f;
    f = { rows: [], epochs: [], pubs: new Map(), acks: new Map(), deliveries: new Map(), inHistory: false };
    channels.set(ch, f);
    return f;
  };
  for (const row of journal.rows) if (inScope(row.ch)) facts(row.ch).rows.push(row);
  for (const rec of journal.epochs) if (inScope(rec.ch)) facts(rec.ch).epochs.push(rec);
  let errors = 0;
  for (const e of scoped) {
    const f = facts(e.ch);
    f.inHistory = true;
    if (e.k === "pub") push(f.pubs, e.cid, e);
    else if (e.k === "ack") push(f.acks, e.cid, e);
    else if (e.k === "deliver") push(f.deliveries, e.seq, e);
    else if (e.k === "err") errors++;
  }

  const violations: Violation[] = [];
  const delivered = scoped.filter((e) => e.k === "deliver").length;
  const stats: CheckStats = { published: 0, acked: 0, errors, unackedCommitted: 0, lostUnacked: 0, delivered, streams: 0, journalRows: 0, lastSeq: {} };
  for (const ch of [...channels.keys()].sort()) {
    const f = channels.get(ch)!;
    const trimmed = Math.max(0, ...f.epochs.map((e) => e.trimmed ?? 0));
    const bySeq = checkJournal(ch, f.rows, f.epochs, violations, trimmed);
    const byCid = new Map<string, JournalRow>();
    for (const row of bySeq.values()) if (!byCid.has(row.cid)) byCid.set(row.cid, row);
    checkAcks(ch, f, byCid, trimmed, violations);
    checkContents(ch, f, bySeq, byCid, trimmed, violations);
    checkPhantoms(ch, f, byCid, violations);
    stats.published += f.pubs.size;
    stats.acked += f.acks.size;
    for (const cid of f.pubs.keys()) {
      if (f.acks.has(cid)) continue;
      if (byCid.has(cid)) stats.unackedCommitted++;
      else stats.lostUnacked++;
    }
    stats.journalRows += f.rows.length;
    let last = 0;
    for (const seq of bySeq.keys()) last = Math.max(last, seq);
    stats.lastSeq[ch] = last;
  }
  stats.streams = checkStreams(scoped, violations);
  return { violations, stats };
}

/**
 * Every ack of a client id must name the seq the journal holds it at. An ack at or below the
 * trimmed floor has no row to compare with: retention removed it.
 */
function checkAcks(ch: string, f: ChannelFacts, byCid: Map<string, JournalRow>, trimmed: number, out: Violation[]): void {
  for (const [cid, acks] of f.acks) {
    const row = byCid.get(cid);
    const seqs = [...new Set(acks.map((a) => a.seq))];
    if (row === undefined && seqs.every((s) => s <= trimmed)) continue;
    if (row === undefined) {
      const message = `"${cid}" was acknowledged at seq ${seqs.join(", ")} but is not in the journal`;
      out.push({ kind: "ack_missing", ch, message, evidence: firstOfEach(acks, (a) => a.seq) });
    } else if (seqs.length > 1 || seqs[0] !== row.seq) {
      const wrong = acks.filter((a) => a.seq !== row.seq);
      out.push({
        kind: "ack_seq_mismatch",
        ch,
        message: `"${cid}" was acknowledged at seq ${seqs.join(", ")} but the journal holds it at seq ${row.seq}`,
        evidence: [row, ...firstOfEach(wrong, (a) => a.seq)],
      });
    }
  }
}

/**
 * One seq, one content: every delivery of a seq must match the journal row at that seq (and each
 * other, when the journal has none), and every journal row must carry a body its client published.
 */
function checkContents(
  ch: string,
  f: ChannelFacts,
  bySeq: Map<number, JournalRow>,
  byCid: Map<string, JournalRow>,
  trimmed: number,
  out: Violation[],
): void {
  for (const [seq, list] of [...f.deliveries].sort((a, b) => a[0] - b[0])) {
    const variants = firstOfEach(list, (d) => JSON.stringify([d.cid, d.body, d.from, d.kind, d.ref]));
    const row = bySeq.get(seq);
    if (row === undefined && seq <= trimmed) {
      // Trimmed since: nothing to compare with, but two contents for one seq are still wrong.
      if (variants.length > 1) out.push({ kind: "content_mismatch", ch, message: `seq ${seq} was delivered with ${variants.length} different contents`, evidence: variants });
      continue;
    }
    if (row === undefined) {
      const message = `seq ${seq} was delivered ("${list[0]!.cid}") but the journal has no row at seq ${seq}`;
      out.push({ kind: "delivery_not_in_journal", ch, message, evidence: variants });
      if (variants.length > 1) {
        out.push({ kind: "content_mismatch", ch, message: `seq ${seq} was delivered with ${variants.length} different contents`, evidence: variants });
      }
      continue;
    }
    for (const d of variants) {
      const diff = differences(d, row);
      if (diff.length === 0) continue;
      const message = `seq ${seq} was delivered to "${d.client}" with another content than the journal's: ${diff.join(", ")}`;
      out.push({ kind: "content_mismatch", ch, message, evidence: [row, d] });
    }
  }
  for (const [cid, row] of byCid) {
    const pubs = f.pubs.get(cid);
    if (pubs === undefined || pubs.some((p) => p.body === row.body && p.kind === row.kind && p.ref === row.ref)) continue;
    const message = `"${cid}" is committed at seq ${row.seq} with a body (or a change) its client never published`;
    out.push({ kind: "content_mismatch", ch, message, evidence: [row, ...firstOfEach(pubs, (p) => p.body)] });
  }
}

/** A message acknowledged, delivered or (on a channel of the history) committed must have been published. */
function checkPhantoms(ch: string, f: ChannelFacts, byCid: Map<string, JournalRow>, out: Violation[]): void {
  const seen = new Map<string, Evidence[]>();
  const note = (cid: string, e: Evidence) => {
    if (f.pubs.has(cid)) return;
    const list = seen.get(cid);
    if (list === undefined) seen.set(cid, [e]);
    else if (!list.some((x) => kindOf(x) === kindOf(e))) list.push(e);
  };
  if (f.inHistory) for (const [cid, row] of byCid) note(cid, row);
  for (const [cid, acks] of f.acks) note(cid, acks[0]!);
  for (const list of f.deliveries.values()) for (const d of list) note(d.cid, d);
  for (const [cid, evidence] of seen) {
    out.push({ kind: "phantom", ch, message: `"${cid}" was ${phantomWhat(evidence)} but no client published it`, evidence });
  }
}

function phantomWhat(evidence: readonly Evidence[]): string {
  const what = { ack: "acknowledged", deliver: "delivered", row: "committed" } as Record<string, string>;
  return evidence.map((e) => what[kindOf(e)]).join(" and ");
}

function kindOf(e: Evidence): string {
  return "k" in e ? e.k : "row";
}

/** What differs between a delivery and the journal row at its seq; empty when they agree. */
function differences(d: DeliverEvent, row: JournalRow): string[] {
  const out: string[] = [];
  if (d.cid !== row.cid) out.push(`cid "${d.cid}" vs "${row.cid}"`);
  if (d.body !== row.body) out.push(`body ${JSON.stringify(clip(d.body))} vs ${JSON.stringify(clip(row.body))}`);
  if (d.from !== undefined && row.sender !== undefined && d.from !== row.sender) out.push(`sender "${d.from}" vs "${row.sender}"`);
  if (d.kind !== row.kind || d.ref !== row.ref) out.push(`change ${d.kind ?? "msg"}/${d.ref ?? "-"} vs ${row.kind ?? "msg"}/${row.ref ?? "-"}`);
  return out;
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** The first item of each distinct key, in order. */
function firstOfEach<T>(items: readonly T[], key: (item: T) => unknown): T[] {
  const seen = new Set<unknown>();
  const out: T[] = [];
  for (const item of items) {
    const k = key(item);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(item);
  }
  return out;
}
