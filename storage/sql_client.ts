import type { AppendRequest } from "./store.ts";

/**
 * The one thing `SqlStore` needs from a SQL driver. PGlite and `pg` both fit behind it, so the
 * statements, the fencing and the group commit are written once (`sql_store.ts`).
 */
export type SqlRow = Record<string, unknown>;

export interface SqlQueryable {
  /** Runs one parameterised statement (`$1`, `$2`, ...) and returns its rows. */
  query(text: string, params?: readonly unknown[]): Promise<SqlRow[]>;
}

export interface SqlClient extends SqlQueryable {
  /**
   * Runs one statement as a transaction of its own (the implicit transaction of a single
   * statement: no BEGIN/COMMIT round trips). If the outcome cannot be known (the connection was
   * lost after the statement was sent), rejects with `StoreCommitUnknownError`; any other
   * rejection means the statement committed nothing.
   */
  statement(text: string, params?: readonly unknown[]): Promise<SqlRow[]>;
  /**
   * Runs `work` on one connection between BEGIN and COMMIT. If `work` throws, the transaction is
   * rolled back and the error rethrown. If COMMIT itself fails, rejects with
   * `StoreCommitUnknownError`: the writes may or may not be committed.
   */
  transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  /**
   * Optional, where the driver can COPY (`pg`): appends every entry of `reqs` (`rows` is their
   * `copyRows`) as one transaction, provided every actor's epoch is current, with no other check
   * (no gap check, no client id lookup: the journal's keys refuse a duplicate or an overlap, and
   * then nothing is committed).
   * Resolves once committed. Rejects with the server's error (severity `ERROR`, see
   * `abortedByServer`) when nothing was committed, or with `StoreCommitUnknownError`.
   */
  appendByCopy?(reqs: readonly AppendRequest[], rows: string): Promise<void>;
  close(): Promise<void>;
}

/** The SQLSTATE of a driver error (both `pg` and PGlite expose it as `code`). */
export function sqlState(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null || !("code" in err)) return undefined;
  return typeof err.code === "string" ? err.code : undefined;
}

/**
 * True when the server answered the statement with an error that aborted its transaction
 * (severity `ERROR`, both `pg` and PGlite expose it): nothing was committed. A `FATAL` or `PANIC`
 * (the session ended, perhaps after its commit) or a transport error says nothing about it.
 */
export function abortedByServer(err: unknown): boolean {
  return typeof err === "object" && err !== null && "severity" in err && err.severity === "ERROR";
}

/** SQLSTATE 23505: a unique or primary-key constraint refused the row. */
export const UNIQUE_VIOLATION = "23505";

/** `pg` returns bigint columns as strings and PGlite as numbers; seqs, epochs and ms fit a double. */
export function toNumber(v: unknown): number {
  return Number(v);
}
