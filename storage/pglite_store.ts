import { setImmediate } from "node:timers";
import { PGlite } from "@electric-sql/pglite";
import type { Transaction } from "@electric-sql/pglite";
import { StoreCommitUnknownError } from "./errors.ts";
import { PglitePrepared } from "./pglite_prepared.ts";
import type { SqlClient, SqlQueryable, SqlRow } from "./sql_client.ts";
import { abortedByServer } from "./sql_client.ts";
import { SqlStore } from "./sql_store.ts";
import type { Store } from "./store.ts";
import type { UserDataStore } from "./user_data_store.ts";
import type { ApiKeyStore } from "./api_key_store.ts";

/**
 * The embedded store: PostgreSQL compiled to WebAssembly, in this thread. PGlite runs one
 * statement at a time, so it must live in exactly one thread (the storage worker); other threads
 * reach it through `PortStore`. Only one PGlite may open a data directory at a time.
 *
 * @param dataDir a directory for the database files, created if absent; undefined keeps the
 *   database in memory (lost on close).
 *
 * @example
 * const store = await openPgliteStore(".data/storm");
 * const epoch = await store.acquireEpoch("channel:general", "node-1");
 */
export async function openPgliteStore(dataDir: string | undefined): Promise<Store & UserDataStore & ApiKeyStore> {
  const db = await PGlite.create(dataDir);
  // PGlite blocks this thread while a statement runs: let the requests that arrived meanwhile in
  // (port messages, macrotasks) before forming the next group commit.
  return SqlStore.open(new PgliteClient(db), { gather: (fn) => setImmediate(fn) });
}

class PgliteClient implements SqlClient {
  readonly #db: PGlite;
  /** Every statement outside `transaction` runs prepared: the store's texts are a fixed few. */
  readonly #prepared: PglitePrepared;

  constructor(db: PGlite) {
    this.#db = db;
    this.#prepared = new PglitePrepared(db);
  }

  query(text: string, params: readonly unknown[] = []): Promise<SqlRow[]> {
    return this.#prepared.query(text, params);
  }

  async statement(text: string, params: readonly unknown[] = []): Promise<SqlRow[]> {
    try {
      return await this.#prepared.query(text, params);
    } catch (err) {
      if (abortedByServer(err)) throw err;
      const why = err instanceof Error ? err.message : String(err);
      throw new StoreCommitUnknownError(`Cannot tell whether the statement committed: ${why}`, { cause: err });
    }
  }

  async transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    // PGlite sends COMMIT after `work` resolves; an error after that point is the commit's.
    let workDone = false;
    try {
      return await this.#db.transaction(async (tx) => {
        const result = await work({ query: (text, params = []) => rowsOf(tx, text, params) });
        workDone = true;
        return result;
      });
    } catch (err) {
      if (!workDone) throw err;
      const why = err instanceof Error ? err.message : String(err);
      throw new StoreCommitUnknownError(`Cannot commit: ${why}`, { cause: err });
    }
  }

  close(): Promise<void> {
    return this.#db.close();
  }
}

async function rowsOf(db: Transaction, text: string, params: readonly unknown[]): Promise<SqlRow[]> {
  const result = await db.query<SqlRow>(text, [...params]);
  return result.rows;
}
