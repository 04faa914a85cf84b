import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{lib,runtime,actors,edge,storage,server,cli,client,web,tests,property-tests,tools,deploy}/**/*.test.ts"],
    exclude: ["node_modules/**", "dist/**", "dist-tools/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // `vitest run --coverage`: lines of the product code, not of tools or tests, run in the test
    // processes. deploy/quality.sh coverage adds what spawned nodes (dist/) ran (deploy/coverage_merge.ts).
    coverage: {
      provider: "v8",
      include: ["{runtime,actors,edge,storage,server,cli,lib,client}/**/*.ts"],
      exclude: ["**/*.test.ts", "**/*_conformance*.ts", "tools/**", "tests/**", "property-tests/**"],
      reporter: ["text-summary", "json-summary"],
      reportsDirectory: "coverage",
      thresholds: { lines: 80 },
      // The figure even when a test fails (the run fails all the same).
      reportOnFailure: true,
    },
  },
});
