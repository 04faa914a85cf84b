import { resolve } from "node:path";
import { defineConfig } from "vitest/config";

// `STORM_COVERAGE=1 npm test` (CI): line coverage of the product code in the test processes, and
// V8's raw coverage of every `storm serve` the tests spawn (deploy/local_cluster.ts reads
// STORM_NODE_COVERAGE); `bash deploy/quality.sh coverage-report` unites them and gates at 80 %.
const coverage = process.env["STORM_COVERAGE"] === "1";
if (coverage) process.env["STORM_NODE_COVERAGE"] ??= resolve("coverage/nodes-raw");

export default defineConfig({
  test: {
    include: ["{lib,runtime,actors,edge,storage,server,cli,client,web,tests,property-tests,tools,deploy}/**/*.test.ts"],
    exclude: ["node_modules/**", "dist/**", "dist-tools/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Lines of the product code, not of tools or tests, run in the test processes; what spawned
    // nodes (dist/) ran is added by deploy/coverage_merge.ts, which holds the gate.
    coverage: {
      enabled: coverage,
      provider: "v8",
      include: ["{runtime,actors,edge,storage,server,cli,lib,client}/**/*.ts"],
      exclude: ["**/*.test.ts", "**/*_conformance*.ts", "tools/**", "tests/**", "property-tests/**"],
      reporter: ["json", "json-summary", "text-summary"],
      reportsDirectory: "coverage",
      // The figure even when a test fails (the run fails all the same).
      reportOnFailure: true,
    },
  },
});
