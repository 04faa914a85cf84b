import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
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
