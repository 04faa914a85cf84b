import pg from "pg";
import type { PoolClient } from "pg";
import { COPY_JOURNAL, CopyIn, fenceStep } from "./copy_append.ts";
import { StoreCommitUnknownError } from "./errors.ts";
import type { AppendRequest } from "./store.ts";
import type { SqlClient, SqlQueryable, SqlRow } from "./sql_client.ts";
import { abortedByServer } from "./sql_client.ts";
import { SqlStore } from "./sql_store.ts";
import type { Store } from "./store.ts";
import type { UserDataStore } from "./user_data_store.ts";
import type { ApiKeyStore } from "./api_key_store.ts";
import type { WebhookStore } from "./webhook_store.ts";

export interface PostgresStoreOptions {
  /**
   * Connections in the pool. Each group commit in flight holds one for its statement; reads,
   * epochs, trims and snapshots share the others, so keep at least one more than
   * `commitsInFlight`.
   */
  poolSize: number;
  /**
   * Group commits in flight at once (default: 2 when the pool has 3 connections or more, else 1).
   * With more than one, each channel is pinned to one of that many lanes, and the lanes'
   * statements run side by side (see `GroupCommitOptions.lanes`); an actor still has one append
   * in flight at most, so its appends keep their order.
   */
  commitsInFlight?: number;
}

/**
 * The cluster store: PostgreSQL through a `pg` pool, at READ COMMITTED (the fencing in
 * `statements.ts` relies on its re-check of locked rows). Durable when the server has
 * `fsync=on` and `synchronous_commit` at its default. Appends go through the group commit
 * (`group_commit.ts`): one statement per group, one group in flight per lane.
 *
 * @example
 * const store = await openPostgresStore("postgresql://storm@127.0.0.1:5432/storm", { poolSize: 4 });
 */
export async function openPostgresStore(connectionString: string, opts: PostgresStoreOptions): Promise<Store & UserDataStore & ApiKeyStore & WebhookStore> {
  const pool = new pg.Pool({ connectionString, max: opts.poolSize });
  // An idle connection that dies is dropped by the pool; the next query reports its own error.
  pool.on("error", () => {});
  const maxInFlight = Math.max(1, opts.commitsInFlight ?? (opts.poolSize >= 3 ? 2 : 1));
  // A lane's next group is formed on setImmediate, once the actors its commit released (whose
  // continuations are microtasks) have issued their next appends.
  return SqlStore.open(new PgPoolClient(pool), { maxInFlight, lanes: maxInFlight > 1, gather: (fn) => void setImmediate(fn) });
}

class PgPoolClient implements SqlClient {
  readonly #pool: pg.Pool;
  /**
   * Every statement runs as a named prepared statement, parsed and planned once per connection:
   * that halves the cost of an append. The store sends a fixed set of texts, so this stays small.
   */
  readonly #names = new Map<string, string>();
  /** Connections on which `appendByCopy`'s fence is prepared (a connection keeps it until it closes). */
  readonly #fenced = new WeakSet<PoolClient>();

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async query(text: string, params: readonly unknown[] = []): Promise<SqlRow[]> {
    const result = await this.#pool.query<SqlRow>(this.#prepared(text, params));
    return result.rows;
  }

  async statement(text: string, params: readonly unknown[] = []): Promise<SqlRow[]> {
    // A failed connect sent nothing: its error is a plain one.
    const conn = await this.#pool.connect();
    try {
      const result = await conn.query<SqlRow>(this.#prepared(text, params));
      conn.release();
      return result.rows;
    } catch (err) {
      throw failed(conn, err, "statement");
    }
  }

  async transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    const conn = await this.#pool.connect();
    let broken: Error | undefined;
    try {
      let result: T;
      try {
        await conn.query("BEGIN");
        result = await work({
          query: async (text, params = []) => (await conn.query<SqlRow>(this.#prepared(text, params))).rows,
        });
      } catch (err) {
        broken = await rollback(conn);
        throw err;
      }
      try {
        await conn.query("COMMIT");
      } catch (err) {
        broken = err instanceof Error ? err : new Error(String(err));
        const why = broken.message;
        throw new StoreCommitUnknownError(`Cannot commit: ${why}`, { cause: err });
      }
      return result;
    } finally {
      // A connection whose state is unknown is destroyed rather than handed to the next caller.
      conn.release(broken);
    }
  }

  async appendByCopy(reqs: readonly AppendRequest[], rows: string): Promise<void> {
    const conn = await this.#pool.connect();
    const copy = new CopyIn([fenceStep(reqs, !this.#fenced.has(conn))], COPY_JOURNAL, rows);
    this.#fenced.add(conn);
    try {
      await conn.query(copy as unknown as pg.Submittable);
      await copy.done;
      conn.release();
    } catch (err) {
      throw failed(conn, err, "COPY");
    }
  }

  close(): Promise<void> {
    return this.#pool.end();
  }

  #prepared(text: string, params: readonly unknown[]): pg.QueryConfig {
    let name = this.#names.get(text);
    if (name === undefined) {
      name = `storm_${this.#names.size + 1}`;
      this.#names.set(text, name);
    }
    return { name, text, values: [...params] };
  }
}

/**
 * Releases the connection of a write that failed, and returns what to throw: the server's error
 * when the server refused the write (nothing committed; the connection stays usable), else a
 * `StoreCommitUnknownError`, the connection being destroyed rather than handed to the next caller.
 */
function failed(conn: PoolClient, err: unknown, what: string): unknown {
  if (abortedByServer(err)) {
    conn.release();
    return err;
  }
  const broken = err instanceof Error ? err : new Error(String(err));
  conn.release(broken);
  return new StoreCommitUnknownError(`Cannot tell whether the ${what} committed: ${broken.message}`, { cause: err });
}

/** Returns the error that left the connection unusable, if ROLLBACK failed. */
async function rollback(conn: PoolClient): Promise<Error | undefined> {
  try {
    await conn.query("ROLLBACK");
    return undefined;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
