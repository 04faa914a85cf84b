import { StoreMigrationError } from "./errors.ts";
import type { SqlClient } from "./sql_client.ts";
import { toNumber } from "./sql_client.ts";

/**
 * The schema, as an ordered list of statements: migration N is `MIGRATIONS[N - 1]`. Append only;
 * never edit an applied entry. The same SQL runs on PGlite and PostgreSQL 15+.
 *
 * Actor ids use the "C" collation so that ordering (and `listSnapshots` paging) is by code point
 * on every server, whatever locale its cluster was created with.
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE actor_epochs (
     actor_id text COLLATE "C" PRIMARY KEY,
     epoch bigint NOT NULL,
     owner text NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE TABLE journal (
     actor_id text COLLATE "C" NOT NULL,
     seq bigint NOT NULL,
     client_id text NOT NULL,
     sender text NOT NULL,
     body text NOT NULL,
     ts bigint NOT NULL,
     epoch bigint NOT NULL,
     PRIMARY KEY (actor_id, seq),
     UNIQUE (actor_id, client_id)
   )`,
  `CREATE TABLE snapshots (
     actor_id text COLLATE "C" PRIMARY KEY,
     epoch bigint NOT NULL,
     seq bigint NOT NULL,
     state jsonb,
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  // Edits, deletes, reactions and thread replies are journal entries of their own (a kind and the
  // seq they refer to). A constant default adds the column without rewriting the table.
  `ALTER TABLE journal
     ADD COLUMN kind text NOT NULL DEFAULT 'msg' CHECK (kind IN ('msg', 'edit', 'delete', 'react', 'unreact')),
     ADD COLUMN ref bigint`,
  // Partial: plain messages (no ref), the bulk of the journal, cost this index nothing on append.
  `CREATE INDEX journal_ref ON journal (actor_id, ref) WHERE ref IS NOT NULL`,
  // Webhooks (storage/webhook_store.ts): endpoints with their delivery lease, positions per
  // channel, the channel events that are not journal entries, and dead letters.
  `CREATE TABLE webhooks (
     id text PRIMARY KEY,
     url text NOT NULL,
     secret text NOT NULL,
     events text NOT NULL,
     channels text NOT NULL,
     max_backlog int NOT NULL,
     timeout_ms int NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now(),
     owner text,
     lease_until bigint NOT NULL DEFAULT 0
   )`,
  `CREATE TABLE webhook_cursors (
     webhook_id text NOT NULL REFERENCES webhooks ON DELETE CASCADE,
     actor_id text COLLATE "C" NOT NULL,
     seq bigint NOT NULL,
     n bigint NOT NULL,
     PRIMARY KEY (webhook_id, actor_id)
   )`,
  `CREATE TABLE channel_events (
     actor_id text COLLATE "C" NOT NULL,
     n bigserial,
     after_seq bigint NOT NULL,
     type text NOT NULL,
     payload jsonb NOT NULL,
     at bigint NOT NULL,
     PRIMARY KEY (actor_id, n)
   )`,
  `CREATE TABLE webhook_dead (
     id bigserial PRIMARY KEY,
     webhook_id text NOT NULL REFERENCES webhooks ON DELETE CASCADE,
     channel text NOT NULL,
     from_id text NOT NULL,
     to_id text NOT NULL,
     count int NOT NULL,
     reason text NOT NULL,
     last_error text NOT NULL,
     at timestamptz NOT NULL DEFAULT now()
   )`,
  // Retention: every seq <= trimmed is gone from the journal on purpose (not a gap).
  `ALTER TABLE actor_epochs ADD COLUMN trimmed bigint NOT NULL DEFAULT 0`,
  // Erasure deletes an actor's epoch row; a later activation must still get a greater epoch than
  // any the deleted row held (G5), so new rows start above this floor (one row, id 1).
  `CREATE TABLE epoch_floor (id int PRIMARY KEY CHECK (id = 1), epoch bigint NOT NULL)`,
  // What an erasure did, without the erased data: who asked, when, counts, a salted hash.
  `CREATE TABLE audit (
     id bigserial PRIMARY KEY,
     at timestamptz NOT NULL DEFAULT now(),
     action text NOT NULL,
     actor text NOT NULL,
     subject_hash text NOT NULL,
     details jsonb NOT NULL
   )`,
  // Server API keys: only a SHA-256 of each key is kept; the key itself is shown once, at creation.
  `CREATE TABLE api_keys (
     id text PRIMARY KEY,
     name text NOT NULL,
     scopes text NOT NULL,
     key_hash text NOT NULL UNIQUE,
     created_at timestamptz NOT NULL DEFAULT now(),
     revoked_at timestamptz
   )`,
  // Token revocations: a user's tokens issued before \`before\` (ms) are refused. Keyed by a keyed
  // hash of the name, so that an erased user's revocation does not keep the name.
  `CREATE TABLE token_revocations (subject_hash text PRIMARY KEY, before bigint NOT NULL)`,
];

/** Serialises concurrent openers (several nodes starting at once) on one database. */
const MIGRATION_LOCK = 0x5707_0001;

/**
 * Brings the schema to the last version in one transaction: either every pending migration is
 * applied and recorded in `schema_migrations`, or none is.
 */
export async function migrate(client: SqlClient, migrations: readonly string[] = MIGRATIONS): Promise<void> {
  let step = "migrate schema";
  try {
    await client.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
      await tx.query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
      );
      const [row] = await tx.query("SELECT coalesce(max(version), 0) AS version FROM schema_migrations");
      const current = toNumber(row?.version);
      if (current > migrations.length) {
        throw new Error(`database is at version ${current}, newer than this build (${migrations.length})`);
      }
      for (let version = current + 1; version <= migrations.length; version++) {
        step = `apply migration ${version}`;
        await tx.query(migrations[version - 1]!);
        await tx.query("INSERT INTO schema_migrations (version) VALUES ($1)", [version]);
      }
      step = "commit migrations";
    });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new StoreMigrationError(`Cannot ${step}: ${why}`, { cause: err });
  }
}
