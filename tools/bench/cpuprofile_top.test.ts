import { describe, expect, it } from "vitest";
import { topOf } from "./cpuprofile_top.ts";

const frame = (functionName: string, url = "") => ({ functionName, url, lineNumber: 0 });

/** Samples 1 ms apart from t = 10 s: idle, then `a` twice, then `b` once (at 10.004 s). */
const profile = {
  nodes: [{ id: 1, callFrame: frame("(idle)") }, { id: 2, callFrame: frame("a", "file:///x/edge/a.js") }, { id: 3, callFrame: frame("b", "file:///x/actors/b.js") }],
  startTime: 10_000_000,
  endTime: 10_004_000,
  samples: [1, 2, 2, 3],
  timeDeltas: [1000, 1000, 1000, 1000],
};

describe("cpuprofile top", () => {
  it("cpuprofile top - counts self time per function, idle apart, busiest first", () => {
    const r = topOf(profile);
    expect(r.busyUs).toBe(3000);
    expect(r.top).toEqual([{ fn: "a edge/a.js:1", us: 2000 }, { fn: "b actors/b.js:1", us: 1000 }]);
  });

  it("cpuprofile top - keeps only the samples inside the window", () => {
    const r = topOf(profile, 10.0035, 20);
    expect(r.busyUs).toBe(1000);
    expect(r.top).toEqual([{ fn: "b actors/b.js:1", us: 1000 }]);
    expect(r.windowS).toBeCloseTo(0.0005, 6);
  });
});
