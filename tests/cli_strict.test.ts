import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { runCommand } from "./harness/storm_process.ts";

/**
 * Every command and script of the project parses its command line strictly (cli/cli_args.ts):
 * `--help` prints and exits 0 with no side effect (run in an empty directory, which stays empty;
 * nothing is started), `--version` prints the version, and a typo'd flag is refused with exit 2.
 */
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const version = (JSON.parse(await import("node:fs").then((fs) => fs.readFileSync(new URL("../package.json", import.meta.url), "utf8"))) as { version: string }).version;

/** [what, script (from the repo root), arguments before the flag under test] */
const COMMANDS: Array<[string, string, string[]]> = [
  ["storm serve", "dist/bin/storm.js", ["serve"]],
  ["storm inspect", "dist/bin/storm.js", ["inspect"]],
  ["storm chat", "dist/bin/storm.js", ["chat"]],
  ["storm-check", "dist-tools/tools/bin/storm-check.js", []],
  ["storm-load", "dist-tools/tools/bin/storm-load.js", []],
  ["storm-load fanout", "dist-tools/tools/bin/storm-load.js", ["fanout"]],
  ["the cluster launcher", "dist-tools/deploy/local_cluster.js", []],
  ["the chaos runner", "dist-tools/tools/chaos/run.js", []],
  ["the bench suite", "dist-tools/tools/bench/suite.js", []],
  ["the A/B runner", "dist-tools/tools/bench/ab.js", []],
  ...["fanout", "durable", "conns", "hop", "scan", "journal_shape", "id_window", "group_params", "pglite_statement"].map(
    (b): [string, string, string[]] => [`${b}_bench`, `dist-tools/tools/bench/${b}_bench.js`, []],
  ),
];

describe("strict command lines", () => {
  test.each(COMMANDS)("cli - %s --help prints its usage, exits 0 and does nothing else", async (_what, script, pre) => {
    const cwd = await mkdtemp(join(tmpdir(), "storm-help-"));
    dirs.push(cwd);
    const r = await runCommand([...pre, "--help"], { script, cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(40);
    expect(r.stderr).toBe("");
    expect(await readdir(cwd)).toEqual([]);
  }, 30_000);

  test.each(COMMANDS)("cli - %s refuses a typo'd flag with exit 2 and its usage on stderr", async (_what, script, pre) => {
    const cwd = await mkdtemp(join(tmpdir(), "storm-typo-"));
    dirs.push(cwd);
    const r = await runCommand([...pre, "--hepl"], { script, cwd });
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(/unknown option "--hepl"/);
    expect(r.stdout).toBe("");
    expect(await readdir(cwd)).toEqual([]);
  }, 30_000);

  test.each(COMMANDS.filter(([what]) => !what.startsWith("storm-load fanout")))("cli - %s --version prints package.json's version", async (_what, script, pre) => {
    const r = await runCommand([...pre, "--version"], { script });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(new RegExp(`^[a-z -]+ ${version.replace(/\./g, "\\.")}$`));
  }, 30_000);
});
