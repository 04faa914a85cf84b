import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{lib,runtime,actors,edge,storage,server,cli,client,web,tests,property-tests,tools,deploy}/**/*.test.ts"],
    exclude: ["node_modules/**", "dist/**", "dist-tools/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
