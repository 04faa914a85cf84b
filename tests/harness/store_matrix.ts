import { afterAll, beforeAll } from "vitest";
import { type PostgresServer, skipPostgres, startPostgres } from "./postgres.ts";
import type { StormProcess } from "./storm_process.ts";
import type { WsClient } from "./ws_client.ts";

/** A `describe.each` row: the store's name and the `storm serve` arguments that select it. */
export type StoreRow = [string, () => string[]];

export interface StoreMatrix {
  /** Embedded PGlite, and a real PostgreSQL unless `skipPostgres`. */
  stores: StoreRow[];
  /** The file's PostgreSQL server (only inside a PostgreSQL row). */
  postgres(): PostgresServer;
  /** Registered by the tests; closed (clients), then stopped (`cleanups`, nodes) after the file. */
  clients: WsClient[];
  nodes: StormProcess[];
  cleanups: Array<() => Promise<void>>;
}

/**
 * For a test file whose every test runs on each store: starts one PostgreSQL for the file and
 * stops, after it, what the tests registered, then PostgreSQL.
 */
export function storeMatrix(): StoreMatrix {
  let pg: PostgresServer | undefined;
  const m: StoreMatrix = {
    stores: [["pglite", () => []], ...(skipPostgres ? [] : [["postgres", () => ["--postgres", m.postgres().url]] as StoreRow])],
    postgres: () => {
      if (!pg) throw new Error("No PostgreSQL server: it is started for the file unless skipPostgres");
      return pg;
    },
    clients: [],
    nodes: [],
    cleanups: [],
  };
  beforeAll(async () => {
    if (!skipPostgres) pg = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await Promise.all(m.clients.map((c) => c.close()));
    await Promise.all(m.cleanups.map((fn) => fn()));
    await Promise.all(m.nodes.map((n) => n.stop()));
    await pg?.stop();
  });
  return m;
}
