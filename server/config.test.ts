import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { defaultWorkerCount, loadConfig } from "./config.ts";

describe("config", () => {
  it("config - the default worker count leaves one core to the edge, and is at least one", () => {
    expect([1, 2, 3, 8].map((cores) => defaultWorkerCount(cores))).toEqual([1, 1, 2, 7]);
    expect(loadConfig([], {}).workers).toBe(defaultWorkerCount(availableParallelism()));
  });

  it("config - --workers, then STORM_WORKERS, override the default", () => {
    expect(loadConfig(["--workers", "3"], { STORM_WORKERS: "5" }).workers).toBe(3);
    expect(loadConfig([], { STORM_WORKERS: "5" }).workers).toBe(5);
    expect(() => loadConfig(["--workers", "two"], {})).toThrow(/--workers/);
  });
});
