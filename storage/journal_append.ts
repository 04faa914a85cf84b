import type { AppendOutcome, JournalEntry } from "./store.ts";
import type { SqlQueryable } from "./sql_client.ts";
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
  if (dups.length > 0) {
    return { ok: false, reason: "duplicate", existing: new Map(dups.map(([id, seq]) => [id, toNumber(seq)])) };
  }
  if (toNumber(row.inserted) !== req.entries.length) return { ok: false, reason: "conflict" };
  return { ok: true };
}

function isWellFormed(entries: readonly JournalEntry[]): boolean {
  const ids = new Set<string>();
  for (let i = 0; i < entries.length; i++) {
    if (entries[i]!.seq !== entries[0]!.seq + i) return false;
    ids.add(entries[i]!.clientId);
  }
  return ids.size === entries.length;
}
