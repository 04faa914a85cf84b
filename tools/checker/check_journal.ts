import type { EpochRecord, JournalRow } from "./journal.ts";
import type { Violation } from "./violation.ts";

/**
 * The checks of one channel's journal on its own (internal): seqs 1..n (or `trimmed`+1..n when
 * retention trimmed its prefix), one seq per client id, one content per seq, and no row committed
 * by a fenced activation. Returns the rows by seq, one per seq (the first, when a seq has several).
 */
export function checkJournal(
  ch: string,
  rows: readonly JournalRow[],
  epochs: readonly EpochRecord[],
  out: Violation[],
  trimmed = 0,
): Map<number, JournalRow> {
  const bySeq = new Map<number, JournalRow>();
  for (const row of [...rows].sort((a, b) => a.seq - b.seq)) {
    const first = bySeq.get(row.seq);
    if (first === undefined) bySeq.set(row.seq, row);
    else if (!sameRow(first, row)) {
      const message = `the journal holds two different rows at seq ${row.seq} (cids "${first.cid}" and "${row.cid}")`;
      out.push({ kind: "content_mismatch", ch, message, evidence: [first, row] });
    }
  }
  const ordered = [...bySeq.values()];
  checkGaps(ch, ordered, trimmed, out);
  checkCids(ch, ordered, out);
  checkFencing(ch, ordered, epochs, out);
  checkChanges(ch, bySeq, out);
  return bySeq;
}

/**
 * Every change (edit, delete, reaction) refers to an earlier message (not to another change) that
 * was not deleted before it. A reference below the journal's first row is not judged: retention may
 * have trimmed its message (a change outlives its message when the trim falls between them).
 */
function checkChanges(ch: string, bySeq: ReadonlyMap<number, JournalRow>, out: Violation[]): void {
  const first = Math.min(...bySeq.keys());
  const deletedAt = new Map<number, JournalRow>();
  for (const row of bySeq.values()) {
    if (row.kind === undefined) continue;
    if (row.ref === undefined || row.ref >= row.seq) {
      out.push({ kind: "change_of_missing", ch, message: `seq ${row.seq} (${row.kind}) refers to ${row.ref ?? "nothing"}, not an earlier seq`, evidence: [row] });
      continue;
    }
    if (row.ref < first) continue;
    const target = bySeq.get(row.ref);
    if (target === undefined || target.kind !== undefined) {
      const what = target === undefined ? "no row" : `a ${target.kind}`;
      out.push({ kind: "change_of_missing", ch, message: `seq ${row.seq} (${row.kind}) changes seq ${row.ref}, which is ${what}`, evidence: target ? [target, row] : [row] });
      continue;
    }
    const deleted = deletedAt.get(row.ref);
    if (deleted) {
      out.push({ kind: "change_of_missing", ch, message: `seq ${row.seq} (${row.kind}) changes seq ${row.ref}, deleted at seq ${deleted.seq}`, evidence: [deleted, row] });
    } else if (row.kind === "delete") deletedAt.set(row.ref, row);
  }
}

function checkGaps(ch: string, ordered: readonly JournalRow[], trimmed: number, out: Violation[]): void {
  let prev: JournalRow | undefined;
  for (const row of ordered) {
    const expected = (prev?.seq ?? trimmed) + 1;
    if (row.seq > expected) {
      const missing = range(expected, row.seq - 1);
      out.push({ kind: "journal_gap", ch, message: `the journal has no row at seq ${missing}`, evidence: prev ? [prev, row] : [row] });
    }
    prev = row;
  }
}

function checkCids(ch: string, ordered: readonly JournalRow[], out: Violation[]): void {
  const byCid = new Map<string, JournalRow[]>();
  for (const row of ordered) {
    const list = byCid.get(row.cid);
    if (list) list.push(row);
    else byCid.set(row.cid, [row]);
  }
  for (const [cid, list] of byCid) {
    if (list.length < 2) continue;
    const seqs = list.map((r) => r.seq).join(", ");
    out.push({ kind: "journal_duplicate_cid", ch, message: `client id "${cid}" is committed at seqs ${seqs}`, evidence: list });
  }
}

/**
 * A row is a fenced write when a later activation had started before it was committed. Two
 * tests, each sufficient: by order, a row with epoch e at a seq after a row of a greater epoch
 * (the stale owner wrote after the new one started); by time, a row with epoch e accepted (`ts`)
 * after an epoch E > e was acquired (`fencedAt`). The second needs row times and epoch times from
 * one clock, as on a single-machine chaos run.
 */
function checkFencing(ch: string, ordered: readonly JournalRow[], epochs: readonly EpochRecord[], out: Violation[]): void {
  const timed = epochs.filter((e) => e.fencedAt !== undefined).sort((a, b) => a.epoch - b.epoch);
  let newest: JournalRow | undefined;
  for (const row of ordered) {
    if (row.epoch === undefined) continue;
    if (newest?.epoch !== undefined && row.epoch < newest.epoch) {
      out.push({
        kind: "fenced_write",
        ch,
        message: `seq ${row.seq} was committed under epoch ${row.epoch} after seq ${newest.seq} under the newer epoch ${newest.epoch}`,
        evidence: [newest, row],
      });
      continue;
    }
    const fence = row.ts === undefined ? undefined : timed.find((e) => e.epoch > row.epoch! && row.ts! > e.fencedAt!);
    if (fence) {
      out.push({
        kind: "fenced_write",
        ch,
        message: `seq ${row.seq} was accepted under epoch ${row.epoch} at ${row.ts}, after epoch ${fence.epoch} was acquired at ${fence.fencedAt}`,
        evidence: [fence, row],
      });
    }
    if (newest === undefined || row.epoch > newest.epoch!) newest = row;
  }
}

function sameRow(a: JournalRow, b: JournalRow): boolean {
  return a.cid === b.cid && a.body === b.body && a.sender === b.sender && a.kind === b.kind && a.ref === b.ref;
}

/** `5` or `5..9`. */
export function range(from: number, to: number): string {
  return from === to ? `${from}` : `${from}..${to}`;
}
