import pg from "pg";
import { CheckerReadError } from "./errors.ts";
import { channelOfActor, type EpochRecord, type Journal, type JournalRow } from "./journal.ts";

export interface PostgresJournalOptions {
  /** Load only these channels (default: every channel). */
  channels?: readonly string[];
}

/**
 * Reads the committed journal of every channel, and each channel actor's current epoch with the
 * time it was acquired, straight from a Storm PostgreSQL database (tables `journal` and
 * `actor_epochs`, see `storage/migrations.ts`). Read-only; one connection, closed before it returns.
 *
 * @example
 * const journal = await loadJournalFromPostgres("postgresql://storm@127.0.0.1:5432/storm");
 * const { violations } = checkHistory(await loadHistoryFiles(["run/histories"]), journal);
 *
 * @throws {CheckerReadError} the database cannot be reached or queried
 */
export async function loadJournalFromPostgres(url: string, opts: PostgresJournalOptions = {}): Promise<Journal> {
  const client = new pg.Client({ connectionString: url });
  // A connection that dies mid-query rejects that query; this only keeps the error from being unhandled.
  client.on("error", () => {});
  const actors = opts.channels ? JSON.stringify(opts.channels.map((ch) => `channel:${ch}`)) : null;
  // bigint columns come back as text from pg; ::float8 keeps the microseconds of updated_at.
  const scope = `starts_with(actor_id, 'channel:') AND ($1::text IS NULL OR actor_id IN (SELECT json_array_elements_text($1::text::json)))`;
  try {
    await client.connect();
    const rows = await client.query<Record<string, string>>(
      `SELECT actor_id, seq::text, client_id, sender, body, ts::text, epoch::text, kind, ref::text FROM journal WHERE ${scope} ORDER BY actor_id, seq`,
      [actors],
    );
    const epochs = await client.query<Record<string, string>>(
      `SELECT actor_id, epoch::text, trimmed::text, (extract(epoch FROM updated_at) * 1000)::float8::text AS fenced_at FROM actor_epochs WHERE ${scope} ORDER BY actor_id`,
      [actors],
    );
    return {
      rows: rows.rows.map((r): JournalRow => ({
        ch: channelOfActor(r.actor_id!)!,
        seq: Number(r.seq),
        cid: r.client_id!,
        body: r.body!,
        sender: r.sender!,
        ts: Number(r.ts),
        epoch: Number(r.epoch),
        ...(r.kind !== "msg" ? { kind: r.kind! } : {}),
        ...(r.ref !== null && r.ref !== undefined ? { ref: Number(r.ref) } : {}),
      })),
      epochs: epochs.rows.map((r): EpochRecord => ({
        ch: channelOfActor(r.actor_id!)!, epoch: Number(r.epoch), fencedAt: Number(r.fenced_at),
        ...(Number(r.trimmed) > 0 ? { trimmed: Number(r.trimmed) } : {}),
      })),
    };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new CheckerReadError(`Cannot load the journal from PostgreSQL: ${why}`, { cause: err });
  } finally {
    await client.end().catch(() => {});
  }
}
