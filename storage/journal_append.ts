import { StoreCommitUnknownError } from "./errors.ts";
import type { AppendOutcome, AppendRequest, JournalEntry } from "./store.ts";
import type { SqlClient, SqlQueryable, SqlRow } from "./sql_client.ts";
import { UNIQUE_VIOLATION, abortedByServer, sqlState, toNumber } from "./sql_client.ts";
import { copyRows } from "./copy_append.ts";
import { SQL } from "./statements.ts";
import { jsonString } from "../lib/json_string.ts";

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
    req.entries.map((e) => ({ seq: e.seq, client_id: e.clientId, sender: e.sender, body: e.body, ts: e.ts, kind: e.kind, ref: e.ref })),
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
 * Runs the appends of several actors as one statement, each decided on its own exactly as
 * `appendOnce` decides it, and returns their outcomes in order. The caller passes at most one
 * append per actor: two appends of one actor in one statement would both be checked against the
 * journal as it was before the statement. Throws only on driver errors; then the statement, being
 * its own transaction, committed nothing of any append (or, for `StoreCommitUnknownError`, maybe
 * all of them).
 *
 * `continues[i]` says that append i is known to continue its journal (the store committed the seq
 * just before it): the fast statement then skips its gap check, one index probe per append, ~1–2
 * µs of PostgreSQL's CPU per row in groups of 3-row appends (`journal_shape_bench`, `group+memo`).
 * A journal that grew meanwhile still refuses it, through its primary key.
 *
 * When every append is known to continue its journal and the driver can COPY (`appendByCopy`),
 * the group is written by COPY behind a fence on the epochs instead: every append is then
 * committed, or (a stale epoch, a client id or seq already journaled) none is, and the statements
 * below decide each append as if the COPY had not been tried.
 *
 * The statement is `SQL.appendGroupFast`, which does not look client ids up. Two cases need the
 * lookup, and run `SQL.appendGroup` (a second statement, its own transaction) for the appends
 * concerned: a unique violation (a client id or a seq already journaled, as the retry of a batch
 * that was committed does: the fast statement committed nothing, so every append runs again), and
 * an append whose previous seq is not journaled (a conflict, or the first append after a gap).
 */
export async function appendGroup(
  q: SqlQueryable & Pick<SqlClient, "appendByCopy">,
  reqs: readonly AppendRequest[],
  continues?: readonly boolean[],
): Promise<AppendOutcome[]> {
  const outcomes: Array<AppendOutcome | undefined> = reqs.map((r) => (isWellFormed(r.entries) ? undefined : { ok: false, reason: "conflict" }));
  const todo = reqs.flatMap((_, i) => (outcomes[i] ? [] : [i]));
  const copied = q.appendByCopy && todo.length > 0 && todo.every((i) => continues?.[i]) ? todo.map((i) => reqs[i]!) : undefined;
  const rows = copied && copyRows(copied);
  if (copied && rows !== undefined) {
    try {
      await q.appendByCopy!(copied, rows);
      for (const i of todo) outcomes[i] = { ok: true };
      return outcomes as AppendOutcome[];
    } catch (err) {
      // Refused by the server: nothing was committed, and the statement decides each append.
      if (!abortedByServer(err)) throw err;
    }
  }
  if (todo.length > 0) {
    let careful = todo;
    try {
      const result = await q.query(SQL.appendGroupFast, groupParams(reqs, todo, continues));
      careful = [];
      for (const row of result) {
        const i = toNumber(row.i);
        if (row.epoch_ok && !row.tail_ok) careful.push(i);
        else outcomes[i] = outcomeOf(row);
      }
    } catch (err) {
      if (sqlState(err) !== UNIQUE_VIOLATION) throw err;
    }
    if (careful.length > 0) {
      for (const row of await q.query(SQL.appendGroup, groupParams(reqs, careful))) outcomes[toNumber(row.i)] = outcomeOf(row);
    }
  }
  return outcomes.map((o, i) => {
    if (o) return o;
    throw new StoreCommitUnknownError(`Cannot append to "${reqs[i]!.actorId}": the group statement returned no outcome for it`);
  });
}

/**
 * The two JSON parameters of a group statement (`SQL.appendGroupFast`, `SQL.appendGroup`) for the
 * appends `which` (indexes into `reqs`); `continues[i]` sends append i's first seq as null, which
 * skips its gap check.
 * Hand-built: the group is the hot path, and `JSON.stringify` of an object per row costs more
 * than the statement's own parsing.
 */
export function groupParams(reqs: readonly AppendRequest[], which: readonly number[], continues?: readonly boolean[]): [string, string] {
  const heads: string[] = [];
  const rows: string[] = [];
  for (const i of which) {
    const r = reqs[i]!;
    const first = continues?.[i] ? null : (r.entries[0]?.seq ?? null);
    heads.push(`{"i":${i},"a":${jsonString(r.actorId)},"e":${r.epoch},"f":${first}}`);
    for (const e of r.entries) {
      const extra = (e.kind === undefined || e.kind === "msg" ? "" : `,"k":"${e.kind}"`) + (e.ref === undefined ? "" : `,"r":${e.ref}`);
      rows.push(`{"i":${i},"s":${e.seq},"c":${jsonString(e.clientId)},"u":${jsonString(e.sender)},"b":${jsonString(e.body)},"t":${e.ts}${extra}}`);
    }
  }
  return [`[${heads.join(",")}]`, `[${rows.join(",")}]`];
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
