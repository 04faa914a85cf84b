import { initPgliteDir } from "../storage/pglite_store.ts";

/**
 * Composition root of the one-shot process that creates a fresh embedded store (`initPgliteDir`):
 * `node pglite_init_main.js <dir>`. Exits 0 once the directory holds a database.
 */
const dir = process.argv[2];
if (!dir) {
  process.stderr.write("usage: pglite_init_main <data-dir>\n");
  process.exit(2);
}
await initPgliteDir(dir);
process.exit(0);
