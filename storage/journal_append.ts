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
 * below decide each append as if the COPY had not been tried. Where the driver cannot COPY
 * (PGlite), such a group is one `SQL.appendContinuing` instead: the same fence per append, no
 * other check, one outcome per append (committed or fenced).
 *
 * Otherwise the statement is `SQL.appendGroupFast`. Neither looks client ids up. Two cases need
 * the lookup, and run `SQL.appendGroup` (a second statement, its own transaction) for the appends
 * concerned: a unique violation (a client id or a seq already journaled, as the retry of a batch
 * that was committed does: the statement committed nothing, so every append runs again), and an
 * append whose previous seq is not journaled (a conflict, or the first append after a gap).
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
      if (copied === undefined && todo.every((i) => continues?.[i])) {
        decideContinuing(reqs, todo, await q.query(SQL.appendContinuing, [continuingParams(reqs, todo)]), outcomes);
        careful = [];
      } else {
        const result = await q.query(SQL.appendGroupFast, groupParams(reqs, todo, continues));
        careful = [];
        for (const row of result) {
          const i = toNumber(row.i);
          if (row.epoch_ok && !row.tail_ok) careful.push(i);
          else outcomes[i] = outcomeOf(row);
        }
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

/**
 * The parameter of `SQL.appendContinuing` for the appends `which` (indexes into `reqs`, at most one
 * per actor): every entry, appends in actor id order (code point order, as the "C" collation sorts).
 */
export function continuingParams(reqs: readonly AppendRequest[], which: readonly number[]): string {
  const rows: string[] = [];
  for (const i of [...which].sort((x, y) => codePointCompare(reqs[x]!.actorId, reqs[y]!.actorId))) {
    const r = reqs[i]!;
    const head = `{"a":${jsonString(r.actorId)},"e":${r.epoch}`;
    for (const e of r.entries) {
      const extra = (e.kind === undefined || e.kind === "msg" ? "" : `,"k":"${e.kind}"`) + (e.ref === undefined ? "" : `,"r":${e.ref}`);
      rows.push(`${head},"s":${e.seq},"c":${jsonString(e.clientId)},"u":${jsonString(e.sender)},"b":${jsonString(e.body)},"t":${e.ts}${extra}}`);
    }
  }
  return `[${rows.join(",")}]`;
}

/**
 * The outcomes of `SQL.appendContinuing` (one row per inserted entry, naming its actor): an
 * append whose entries were all inserted is committed, one with none was fenced. Any other count
 * contradicts the statement, which inserts an append whole or not at all.
 */
function decideContinuing(reqs: readonly AppendRequest[], which: readonly number[], rows: readonly SqlRow[], outcomes: Array<AppendOutcome | undefined>): void {
  const inserted = new Map<string, number>();
  for (const row of rows) inserted.set(String(row.actor_id), (inserted.get(String(row.actor_id)) ?? 0) + 1);
  for (const i of which) {
    const r = reqs[i]!;
    const n = inserted.get(r.actorId) ?? 0;
    if (n === r.entries.length) outcomes[i] = { ok: true };
    else if (n === 0) outcomes[i] = { ok: false, reason: "fenced" };
    else throw new StoreCommitUnknownError(`Cannot append to "${r.actorId}": the statement inserted ${n} of its ${r.entries.length} entries`);
  }
}

/** Compares by code point (UTF-16 code units order a surrogate pair below U+E000-U+FFFF). */
function codePointCompare(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let k = 0; k < n; k++) {
    const x = a.charCodeAt(k);
    const y = b.charCodeAt(k);
    if (x !== y) return codeUnitRank(x) - codeUnitRank(y);
  }
  return a.length - b.length;
}

function codeUnitRank(c: number): number {
  if (c < 0xd800) return c;
  return c >= 0xe000 ? c - 0x800 : c + 0x2000;
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
