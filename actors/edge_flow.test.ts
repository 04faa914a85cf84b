import { describe, expect, it } from "vitest";
import { EdgeFlow } from "./edge_flow.ts";

describe("edge flow", () => {
  it("flow - an edge that keeps up never holds work", () => {
    const f = new EdgeFlow(250, 3_000);
    f.sent("e1", 10, 0);
    f.delivered("e1", 10, 100);
    f.sent("e1", 20, 1_000);
    expect(f.holding(1_100)).toBe(false);
  });

  it("flow - a batch outstanding past the lag bound holds work until it is delivered", () => {
    const f = new EdgeFlow(250, 3_000);
    f.sent("e1", 10, 0);
    expect(f.holding(200)).toBe(false);
    expect(f.holding(300)).toBe(true);
    f.delivered("e1", 10, 310);
    expect(f.holding(320)).toBe(false);
  });

  it("flow - partial delivery restarts the lag clock at the acknowledgement", () => {
    const f = new EdgeFlow(250, 3_000);
    f.sent("e1", 5, 0);
    f.sent("e1", 10, 100);
    f.delivered("e1", 5, 240);
    expect(f.holding(400)).toBe(false);
    expect(f.holding(500)).toBe(true);
  });

  it("flow - only edges behind past the drop bound are laggards, and forgotten edges never hold", () => {
    const f = new EdgeFlow(250, 3_000);
    f.sent("slow", 10, 0);
    f.sent("ok", 10, 2_000);
    expect(f.laggards(3_500)).toEqual(["slow"]);
    f.forget("slow");
    f.forget("ok");
    expect(f.holding(10_000)).toBe(false);
  });
});
