import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{runtime,actors,edge,storage,tests,property-tests,checker,cli,chaos,deploy}/**/*.test.ts"],
    exclude: ["node_modules/**", "dist/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
