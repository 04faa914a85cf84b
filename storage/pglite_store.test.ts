import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendGroup } from "./journal_append.ts";
import { MIGRATIONS } from "./migrations.ts";
import { openPgliteStore } from "./pglite_store.ts";
import type { SqlRow } from "./sql_client.ts";
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

// PGlite is one session: the group statement checks epochs without locking their rows (a lock
// would only write the row's xmax and a WAL record), and a stale epoch is still refused.
describe("pglite group statement, one session", () => {
  it("appends of a current epoch commit and a stale one is fenced, leaving actor_epochs rows unlocked", async () => {
    const db = await PGlite.create();
    try {
      for (const m of MIGRATIONS) await db.exec(m);
      await db.query("INSERT INTO actor_epochs (actor_id, epoch, owner) VALUES ('channel:a', 2, 'n'), ('channel:b', 1, 'n')");
      const entry = (seq: number) => ({ seq, clientId: `c${seq}`, sender: "ann", body: "hi", ts: 1 });
      const run = (soleSession: boolean, epochA: number, seqA: number, seqB: number) => appendGroup(
        { soleSession, query: async (text, params) => (await db.query<SqlRow>(text, params as unknown[])).rows },
        [{ actorId: "channel:a", epoch: epochA, entries: [entry(seqA)] }, { actorId: "channel:b", epoch: 1, entries: [entry(seqB)] }],
      );
      const xmax = async () => (await db.query<{ x: string }>("SELECT xmax::text AS x FROM actor_epochs ORDER BY actor_id")).rows.map((r) => r.x);
      expect(await run(true, 1, 1, 1)).toEqual([{ ok: false, reason: "fenced" }, { ok: true }]);
      expect(await run(true, 2, 1, 2)).toEqual([{ ok: true }, { ok: true }]);
      expect(await xmax()).toEqual(["0", "0"]);
      // The locked text (PostgreSQL's) marks the rows it read FOR SHARE: what the one session saves.
      expect(await run(false, 2, 2, 3)).toEqual([{ ok: true }, { ok: true }]);
      expect((await xmax()).every((x) => x !== "0")).toBe(true);
      const rows = await db.query<{ actor_id: string; seq: number }>("SELECT actor_id, seq::int AS seq FROM journal ORDER BY actor_id, seq");
      expect(rows.rows).toEqual([{ actor_id: "channel:a", seq: 1 }, { actor_id: "channel:a", seq: 2 }, { actor_id: "channel:b", seq: 1 }, { actor_id: "channel:b", seq: 2 }, { actor_id: "channel:b", seq: 3 }]);
    } finally {
      await db.close();
    }
  });
});
