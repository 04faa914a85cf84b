import { StoreCommitUnknownError } from "./errors.ts";
import type { AppendOutcome, JournalEntry } from "./store.ts";
import type { SqlQueryable, SqlRow } from "./sql_client.ts";
import { toNumber } from "./sql_client.ts";
import { SQL } from "./statements.ts";

export interface AppendRequest {
  actorId: string;
  epoch: number;
  entries: readonly JournalEntry[];
}

/**
 * Runs one conditional append as one statement (one round trip) and maps its result to an
 * outcome. The statement inserts every entry or none. It throws only on driver errors, notably a
 * unique violation when another transaction committed the same seq or client id after this
 * statement's snapshot was taken (two writers with the same epoch: a caller bug or a race the
 * caller resolves by retrying, which then reports `duplicate` or `conflict`).
 *
 * A batch that is malformed on its own (seqs not consecutive, a client id twice) is answered
 * `conflict` without a round trip: it could never continue a journal.
 */
export async function appendOnce(q: SqlQueryable, req: AppendRequest): Promise<AppendOutcome> {
  if (!isWellFormed(req.entries)) return { ok: false, reason: "conflict" };
  const rows = JSON.stringify(
    req.entries.map((e) => ({ seq: e.seq, client_id: e.clientId, sender: e.sender, body: e.body, ts: e.ts })),
  );
  const first = req.entries[0]?.seq ?? null;
  const [row] = await q.query(SQL.append, [req.actorId, req.epoch, rows, first]);
  if (!row || toNumber(row.epoch_ok) === 0) return { ok: false, reason: "fenced" };
  const dups = row.dups as Array<[string, number | string]>;
  if (dups.length > 0) return duplicate(dups);
  if (toNumber(row.inserted) !== req.entries.length) return { ok: false, reason: "conflict" };
  return { ok: true };
}

/**
 * Runs the appends of several actors as one statement (`SQL.appendGroup`), each decided on its
 * own exactly as `appendOnce` decides it, and returns their outcomes in order. The caller passes
 * at most one append per actor: two appends of one actor in one statement would both be checked
 * against the journal as it was before the statement. Throws only on driver errors; then the
 * statement, being its own transaction, committed nothing of any append (or, for
 * `StoreCommitUnknownError`, maybe all of them).
 */
export async function appendGroup(q: SqlQueryable, reqs: readonly AppendRequest[]): Promise<AppendOutcome[]> {
  const outcomes: Array<AppendOutcome | undefined> = reqs.map((r) => (isWellFormed(r.entries) ? undefined : { ok: false, reason: "conflict" }));
  // Hand-built JSON: the group is the hot path, and `JSON.stringify` of an object per row costs
  // more than the statement's own parsing.
  const heads: string[] = [];
  const rows: string[] = [];
  reqs.forEach((r, i) => {
    if (outcomes[i]) return;
    heads.push(`{"i":${i},"a":${JSON.stringify(r.actorId)},"e":${r.epoch},"f":${r.entries[0]?.seq ?? null}}`);
    for (const e of r.entries) {
      rows.push(`{"i":${i},"s":${e.seq},"c":${JSON.stringify(e.clientId)},"u":${JSON.stringify(e.sender)},"b":${JSON.stringify(e.body)},"t":${e.ts}}`);
    }
  });
  if (heads.length > 0) {
    const result = await q.query(SQL.appendGroup, [`[${heads.join(",")}]`, `[${rows.join(",")}]`]);
    for (const row of result) outcomes[toNumber(row.i)] = outcomeOf(row);
  }
  return outcomes.map((o, i) => {
    if (o) return o;
    throw new StoreCommitUnknownError(`Cannot append to "${reqs[i]!.actorId}": the group statement returned no outcome for it`);
  });
}

function outcomeOf(row: SqlRow): AppendOutcome {
  if (!row.epoch_ok) return { ok: false, reason: "fenced" };
  if (row.dups !== null) return duplicate(row.dups as Array<[string, number | string]>);
  if (!row.tail_ok) return { ok: false, reason: "conflict" };
  return { ok: true };
}

function duplicate(dups: Array<[string, number | string]>): AppendOutcome {
  return { ok: false, reason: "duplicate", existing: new Map(dups.map(([id, seq]) => [id, toNumber(seq)])) };
}

function isWellFormed(entries: readonly JournalEntry[]): boolean {
  const ids = new Set<string>();
  for (let i = 0; i < entries.length; i++) {
    if (entries[i]!.seq !== entries[0]!.seq + i) return false;
    ids.add(entries[i]!.clientId);
  }
  return ids.size === entries.length;
}
