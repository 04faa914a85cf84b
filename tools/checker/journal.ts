import { JournalParseError } from "./errors.ts";
import { asObject, describe, int, type JsonObject, optInt, optStr, optTime, str } from "./fields.ts";
import { type EntryShape, entryShape } from "./history.ts";

/**
 * The journal as committed (the ground truth the histories are checked against): every channel
 * message row, and optionally the epoch records of the channel actors.
 *
 * As a file it is JSON Lines; a line with `seq` is a row, a line without is an epoch record. Both
 * the checker's own field names and PostgreSQL's column names are accepted, so a dump of the two
 * tables is a valid journal file as is:
 *
 *     psql "$URL" -At -c "SELECT row_to_json(j) FROM journal j" \
 *                     -c "SELECT row_to_json(e) FROM actor_epochs e" > journal.jsonl
 *
 * - row: `{"ch","seq","cid","body","sender"?,"ts"?,"epoch"?,"kind"?,"ref"?}`, or
 *   `{"actor_id":"channel:g","seq","client_id","body","sender","ts","epoch","kind","ref"}`;
 * - epoch record: `{"ch"|"actor"|"actor_id","epoch","fencedAt"?|"updated_at"?,"trimmed"?}`: epoch
 *   `epoch` was acquired at `fencedAt` (ms, or ISO-8601), from which every lower epoch of the actor
 *   is fenced; PostgreSQL keeps only each actor's latest epoch, which is enough for the check.
 *   `trimmed`: retention removed every seq up to it (a prefix, not a gap).
 *
 * Actor ids other than `channel:<name>` (sessions) are skipped: only channels have a journal.
 */
export interface Journal {
  rows: JournalRow[];
  epochs: EpochRecord[];
}

export interface JournalRow extends EntryShape {
  ch: string;
  seq: number;
  cid: string;
  body: string;
  sender?: string;
  /** Server time of acceptance, ms since the Unix epoch. */
  ts?: number;
  /** The epoch of the activation that committed the row. */
  epoch?: number;
  /** Where the row was read, `file:line`, set by the parser. */
  at?: string;
}

export interface EpochRecord {
  ch: string;
  epoch: number;
  /** When this epoch was acquired (ms): from then on every lower epoch's write must be refused. */
  fencedAt?: number;
  /** Retention: every seq at or below it was trimmed on purpose (`actor_epochs.trimmed`); not a gap. */
  trimmed?: number;
  at?: string;
}

/** `channel:general` → `general`; null for any other actor kind. */
export function channelOfActor(actorId: string): string | null {
  return actorId.startsWith("channel:") ? actorId.slice("channel:".length) : null;
}

/**
 * Parses a journal file's text. Blank lines are skipped, unknown fields ignored.
 *
 * @throws {JournalParseError} `Cannot parse journal line 3 of journal.jsonl: "seq" must be an integer >= 1, got 0`
 */
export function parseJournal(text: string, source: string): Journal {
  const journal: Journal = { rows: [], epochs: [] };
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    try {
      const item = parseJournalLine(JSON.parse(line));
      if (item === null) continue;
      const at = `${source}:${i + 1}`;
      if ("seq" in item) journal.rows.push({ ...item, at });
      else journal.epochs.push({ ...item, at });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new JournalParseError(`Cannot parse journal line ${i + 1} of ${source}: ${why}`, { cause: err });
    }
  }
  return journal;
}

/** One decoded line as a row or an epoch record, or null when it belongs to a non-channel actor. */
export function parseJournalLine(value: unknown): JournalRow | EpochRecord | null {
  const o = asObject(value);
  const ch = channelOf(o);
  if (ch === null) return null;
  if (o.seq !== undefined) {
    const row: JournalRow = { ch, seq: int(o, "seq", 1), cid: str(o, o.cid !== undefined ? "cid" : "client_id"), body: str(o, "body") };
    const sender = optStr(o, "sender");
    const ts = optInt(o, "ts", 0);
    const epoch = optInt(o, "epoch", 0);
    if (sender !== undefined) row.sender = sender;
    if (ts !== undefined) row.ts = ts;
    if (epoch !== undefined) row.epoch = epoch;
    return { ...row, ...entryShape(o) };
  }
  const rec: EpochRecord = { ch, epoch: int(o, "epoch", 0) };
  const fencedAt = o.fencedAt !== undefined ? optTime(o, "fencedAt") : optTime(o, "updated_at");
  if (fencedAt !== undefined) rec.fencedAt = fencedAt;
  const trimmed = optInt(o, "trimmed", 0);
  if (trimmed !== undefined && trimmed > 0) rec.trimmed = trimmed;
  return rec;
}

/** The journal as a journal file (JSON Lines, the checker's field names), e.g. to keep a chaos run's journal. */
export function formatJournal(journal: Journal): string {
  const strip = ({ at: _at, ...rest }: JournalRow | EpochRecord) => JSON.stringify(rest);
  return [...journal.rows, ...journal.epochs].map((item) => `${strip(item)}\n`).join("");
}

function channelOf(o: JsonObject): string | null {
  if (o.ch !== undefined) return str(o, "ch");
  for (const key of ["actor_id", "actor"]) if (o[key] !== undefined) return channelOfActor(str(o, key));
  throw new Error(`a line needs "ch", "actor_id" or "actor", got none in ${describe(Object.keys(o))}`);
}
