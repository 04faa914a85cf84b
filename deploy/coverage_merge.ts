/**
 * Line coverage of the product code over every process that ran it: the test processes
 * (`vitest run --coverage`, istanbul JSON) and the `storm serve` processes the integration tests
 * spawn (V8's raw coverage, remapped to the TypeScript sources by `c8 report`). A line counts as
 * covered when any process ran it; the lines counted are those the tests' report lists (every product
 * file, run or not: vitest.config.ts `coverage.include`). The two reports come from two converters
 * whose statements differ, so they are united line by line, not statement by statement.
 *
 *   npx tsx deploy/coverage_merge.ts coverage/coverage-final.json coverage/nodes/coverage-final.json [--min 80]
 *
 * Prints the figure of each source and of both; exits 1 under `--min`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";

interface FileCoverage {
  path: string;
  statementMap: Record<string, { start: { line: number }; end: { line: number } }>;
  s: Record<string, number>;
}

/** Per file (absolute path): every line that starts a statement, and whether it ran. */
function lines(file: string): Map<string, Map<number, boolean>> {
  const report = JSON.parse(readFileSync(file, "utf8")) as Record<string, FileCoverage>;
  const out = new Map<string, Map<number, boolean>>();
  for (const fc of Object.values(report)) {
    const byLine = new Map<number, boolean>();
    for (const [id, st] of Object.entries(fc.statementMap)) {
      const line = st.start.line;
      byLine.set(line, (byLine.get(line) ?? false) || (fc.s[id] ?? 0) > 0);
    }
    out.set(resolve(fc.path), byLine);
  }
  return out;
}

function pct(covered: number, total: number): string {
  return total === 0 ? "n/a" : `${((100 * covered) / total).toFixed(1)} %`;
}

const args = process.argv.slice(2);
const minAt = args.indexOf("--min");
const min = minAt >= 0 ? Number(args[minAt + 1]) : undefined;
const [testsFile, nodesFile] = args.filter((_, i) => i !== minAt && i !== minAt + 1);
if (!testsFile || !nodesFile) {
  console.error("usage: coverage_merge.ts TESTS.json NODES.json [--min PCT]");
  process.exit(2);
}
const tests = lines(testsFile);
const nodes = lines(nodesFile);
let total = 0;
let inTests = 0;
let inNodes = 0;
let either = 0;
const perFile: Array<{ file: string; lines: number; covered: number }> = [];
for (const [file, byLine] of tests) {
  const other = nodes.get(file);
  let covered = 0;
  for (const [line, ran] of byLine) {
    const ranInNode = other?.get(line) === true;
    total++;
    if (ran) inTests++;
    if (ranInNode) inNodes++;
    if (ran || ranInNode) covered++;
  }
  either += covered;
  perFile.push({ file, lines: byLine.size, covered });
}
writeFileSync(resolve(testsFile, "../coverage-merged.json"), `${JSON.stringify({ total, covered: either, files: perFile }, null, 1)}\n`);
console.log(`coverage: lines run by the test processes ${pct(inTests, total)} (${inTests}/${total}), by the spawned nodes ${pct(inNodes, total)} (${inNodes}/${total})`);
console.log(`coverage: lines of the product code run by either ${pct(either, total)} (${either}/${total})${min === undefined ? "" : `; gate ${min} %`}`);
if (min !== undefined && (100 * either) / total < min) process.exit(1);
