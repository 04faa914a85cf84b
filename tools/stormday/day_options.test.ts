import { describe, expect, it } from "vitest";
import { parseDayArgs, PER_PROCESS } from "./day_options.ts";

describe("storm-load stormday options", () => {
  it("options - the full day defaults to 100,000 connections, with enough nodes that one down leaves room", () => {
    const o = parseDayArgs([], "/tmp/x");
    expect(o.connections).toBe(100_000);
    expect(o.connections / (o.nodes - 1)).toBeLessThanOrEqual(PER_PROCESS);
    expect(o.connections / o.loadProcs).toBeLessThanOrEqual(PER_PROCESS);
    expect(o.rate).toBe(500);
  });

  it("options - --quick is the CI run: 2,000 connections on 3 nodes", () => {
    const o = parseDayArgs(["--quick"], "/tmp/x");
    expect([o.connections, o.nodes, o.rampS, o.steadyS, o.quick]).toEqual([2_000, 3, 15, 105, true]);
  });

  it("options - an explicit flag wins over the scale's default", () => {
    expect(parseDayArgs(["--connections", "30000", "--ramp", "40"], "/tmp/x")).toMatchObject({ connections: 30_000, rampS: 40, nodes: 3 });
  });

  it("options - too many sockets per node is refused before anything starts", () => {
    expect(() => parseDayArgs(["--connections", "60000", "--nodes", "3"], "/tmp/x")).toThrow(/more than 18000 sockets per node/);
  });

  it("options - an unknown flag is refused", () => {
    expect(() => parseDayArgs(["--conections", "10"], "/tmp/x")).toThrow(/Cannot parse arguments/);
  });

  it("options - the ramp opens about 150 connections a second, between 20 s and 5 minutes", () => {
    expect(parseDayArgs(["--connections", "1000"], "/tmp/x").rampS).toBe(20);
    expect(parseDayArgs(["--connections", "6000"], "/tmp/x").rampS).toBe(40);
    expect(parseDayArgs([], "/tmp/x").rampS).toBe(300);
  });
});
