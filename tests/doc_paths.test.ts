import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

/**
 * Every repository path the docs name, in code or as a link, exists: files move (the bench went
 * under tools/) and a newcomer's first command should not fail with ENOENT. Build output
 * (`dist/`, `dist-tools/`) is made by `npm run build` and not checked; `runN` names a series.
 */
const root = fileURLToPath(new URL("..", import.meta.url));
const DOCS = ["README.md", "ARCHITECTURE.md", "BENCHMARKS.md", "deploy/k8s/README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
const TOP = new Set(readdirSync(root).filter((f) => !f.startsWith(".")));
const GENERATED = new Set(["dist", "dist-tools", "node_modules", "coverage"]);

/** The path-like words of a doc: inside `code`, fenced blocks, and markdown link targets. */
function namedPaths(markdown: string): { path: string; link: boolean }[] {
  const found: { path: string; link: boolean }[] = [];
  for (const m of markdown.matchAll(/```[\s\S]*?```|`[^`\n]+`|\]\(([^)#\s]+)/g)) {
    if (m[1]) {
      if (!/^[a-z]+:/.test(m[1])) found.push({ path: m[1], link: true });
      continue;
    }
    for (const word of m[0].replace(/```\w*/g, " ").split(/[\s"'(),;:=`]+/)) {
      const path = word.replace(/[.,]$/, "");
      if (!/^[\w.-]+(\/[\w.@-]+)+\/?$/.test(path) || path.includes("runN")) continue;
      const first = path.split("/")[0]!;
      if (GENERATED.has(first) || !(TOP.has(first) || /\.(ts|md|json|sh|ya?ml|mjs|html|txt)$/.test(path))) continue;
      found.push({ path, link: false });
    }
  }
  return found;
}

test("docs - every repository path named in README, ARCHITECTURE, BENCHMARKS and docs/ exists", () => {
  const missing: string[] = [];
  for (const doc of DOCS) {
    if (!existsSync(join(root, doc))) continue;
    for (const { path, link } of namedPaths(readFileSync(join(root, doc), "utf8"))) {
      const at = link ? join(root, dirname(doc), path) : join(root, path);
      if (!existsSync(at)) missing.push(`${doc}: ${path}`);
    }
  }
  expect(missing).toEqual([]);
});

test("docs - a moved path is caught: code spans, fenced commands and links are all read", () => {
  const paths = namedPaths("Run `npx tsx deploy/cost_model.ts bench/results/suite.json`.\n```sh\nnode tools/x/y.ts\n```\nSee [the doc](docs/NOPE.md).").map((p) => p.path);
  expect(paths).toEqual(["deploy/cost_model.ts", "bench/results/suite.json", "tools/x/y.ts", "docs/NOPE.md"]);
});
