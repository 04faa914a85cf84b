import { setFlagsFromString } from "node:v8";

/**
 * The V8 settings that keep an idle node small (ARCHITECTURE.md, "Where a node's memory goes").
 * V8's flags are the process's, set here at run time because `storm serve` is started as `node
 * dist/bin/storm.js` with no flags of ours; a flag given on node's own command line wins.
 */

/** V8's default `--semi-space-growth-factor`: each young-generation resize doubles it. */
const V8_SEMI_SPACE_GROWTH = 2;

/**
 * Keeps every heap's young generation (main thread, actor workers, storage thread) at its
 * initial 1 MB semi-space while the node starts, and returns what lets it grow again. Start-up
 * allocates fast and keeps most of it (modules, PGlite), so V8 grew each young generation to its
 * 16 MB maximum (32 MB committed on the main thread, 16 MB on a worker) and an idle node kept that
 * until V8's memory reducer ran, if ever. V8 reads the factor at each resize, so once released a
 * loaded heap grows as before: a node's throughput is not touched.
 */
export function holdYoungGeneration(): () => void {
  if (givenToNode("semi-space-growth-factor")) return () => {};
  setFlagsFromString("--semi-space-growth-factor=1");
  return () => setFlagsFromString(`--semi-space-growth-factor=${V8_SEMI_SPACE_GROWTH}`);
}

/**
 * WebAssembly is compiled by Liftoff, V8's baseline compiler, only: no TurboFan tier-up. Set in
 * the embedded store's thread before PGlite compiles (PGlite is this process's only WebAssembly).
 * TurboFan's compile jobs for PostgreSQL's hot functions run on V8's background threads, and the
 * malloc arenas of those threads kept their zone memory (50-60 MB resident, 1-2 MB of it in use,
 * `malloc_stats` through gdb) for the life of the process. The price is PGlite's speed: about a
 * third more CPU per journal row (BENCHMARKS.md, "#30 idle embedded node"), which is most of a
 * small room's server CPU per delivery (#31): so it is `--lean-embedded`'s, not the default.
 */
export function wasmBaselineOnly(): void {
  if (givenToNode("liftoff-only")) return;
  setFlagsFromString("--liftoff-only");
}

/** Whether node's command line set this V8 flag (either polarity, `-` or `_` spelling). */
function givenToNode(flag: string): boolean {
  const names = [flag, `no-${flag}`].flatMap((f) => [f, f.replaceAll("-", "_")]);
  return process.execArgv.some((a) => names.some((n) => a === `--${n}` || a.startsWith(`--${n}=`)));
}
