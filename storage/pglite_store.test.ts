import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPgliteStore } from "./pglite_store.ts";
import { runStoreConformance } from "./store_conformance.ts";

runStoreConformance("pglite (memory)", () => openPgliteStore(undefined), { durable: false });

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "storm-pglite-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

runStoreConformance("pglite (directory)", () => openPgliteStore(join(dir, "db")), { durable: true });

// docs/GUARANTEES.md (G2) and README.md say the embedded store survives a killed process but not a
// power loss, because PGlite neither runs with fsync on nor syncs its files. This pins that claim to
// the PGlite in package-lock.json: a release that syncs fails here, and the docs must follow it.
describe("pglite durability, as documented", () => {
  it("commits with fsync off and without one sync call to the file system", async () => {
    const fs = createRequire(import.meta.url)("node:fs") as Record<string, unknown>;
    const names = ["fsync", "fsyncSync", "fdatasync", "fdatasyncSync"] as const;
    const saved = names.map((n) => fs[n]);
    let syncs = 0;
    for (const [k, n] of names.entries()) {
      const original = saved[k] as (...a: unknown[]) => unknown;
      fs[n] = (...a: unknown[]) => {
        syncs++;
        return original(...a);
      };
    }
    syncBuiltinESMExports();
    const db = await PGlite.create(join(dir, "fsync-check"));
    try {
      expect((await db.query<{ fsync: string }>("SHOW fsync")).rows[0]?.fsync).toBe("off");
      await db.exec("CREATE TABLE t (v int)");
      for (let v = 0; v < 20; v++) await db.query("INSERT INTO t VALUES ($1)", [v]);
      await db.exec("CHECKPOINT");
      expect((await db.query<{ n: number }>("SELECT count(*)::int AS n FROM t")).rows[0]?.n).toBe(20);
      expect(syncs).toBe(0);
    } finally {
      await db.close();
      for (const [k, n] of names.entries()) fs[n] = saved[k];
      syncBuiltinESMExports();
    }
  });
});
