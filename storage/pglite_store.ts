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
import type { WebhookStore } from "./webhook_store.ts";

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
export async function openPgliteStore(dataDir: string | undefined): Promise<Store & UserDataStore & ApiKeyStore & WebhookStore> {
  const db = await PGlite.create(dataDir, { startParams: [...PGLITE_START_PARAMS] });
  // PGlite blocks this thread while a statement runs: let the requests that arrived meanwhile in
  // (port messages, macrotasks) before forming the next group commit.
  return SqlStore.open(new PgliteClient(db), { gather: (fn) => setImmediate(fn) });
}

/**
 * PostgreSQL's settings for the embedded store, after PGlite's own (single user, no parallel
 * workers). `shared_buffers` is PostgreSQL's page cache, and in PGlite it lives in the WASM
 * memory, all of it touched as PostgreSQL starts: the default 128 MB was most of an idle node's
 * resident memory, 16 MB still 16 of its 34 MB of WASM memory. 4 MB (512 pages) holds the pages an
 * append touches (the journal's tail, its indexes' right edges, the epochs); older pages are read
 * through the OS page cache, which is where the data files are anyway (PGlite's NODEFS), and a
 * page evicted dirty is a write into that cache. Measured on 100 channels appending (40,000 rows,
 * more than 4 MB of journal): 59-91 us of CPU per row against 65-89 with 16 MB, inside the noise.
 * `wal_buffers` stays at 4 MB (by default it is a 32nd of `shared_buffers`), so a group commit of
 * 8,192 entries still fits in it. Durability is unchanged: it never rested on these (see
 * `storage/pglite_store.test.ts`).
 */
export const PGLITE_START_PARAMS: readonly string[] = [...PGlite.defaultStartParams, "-c", "shared_buffers=4MB", "-c", "wal_buffers=4MB"];

/**
 * Creates a fresh data directory (PostgreSQL's initdb) and closes it. Run in a process of its own
 * (`server/pglite_init_main.ts`) before the node opens the store: initdb's WASM instance and the
 * allocator arenas its compilation leaves behind stay resident in a process that ran it (about
 * 150 MB, measured), even after its thread exits.
 */
export async function initPgliteDir(dataDir: string): Promise<void> {
  const db = await PGlite.create(dataDir, { startParams: [...PGLITE_START_PARAMS] });
  await db.close();
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
