import { describe, expect, it } from "vitest";
import { medianRun, renderMarkdown, type ScenarioRun } from "./suite_report.ts";

const durable = (ackedPerSec: number, p99: number) => ({
  storm: {
    ackedPerSec, latencyMs: { p50: p99 / 2, p99, p999: p99 * 1.5 }, rowsPerTransaction: 100,
    cpuPercent: { server: 90, postgres: 60, load: 20, machine: 170 }, durability: { missing: 0, gappy: 0 },
  },
  rawPg: { rowsPerSec: 200_000 },
  ratio: ackedPerSec / 200_000,
});

const target = (name: string, deliveredPerSec: number) => ({
  target: name, nodes: 1, deliveredPerSec, pubAckedPerSec: deliveredPerSec / 1000, latencyMs: { p50: 1, p99: 2, p999: 3 },
  serverRssMB: { end: 100 }, cpuPercent: { server: 95, load: 95, other: 5 },
  violations: { gaps: 0, reorders: 0, badFrames: 0, closed: 0, undelivered: 0 },
});

const fanout = (raw: number, compact: number) => ({
  params: { rate: "max" },
  results: [target("raw-batched", raw), target("storm-compact", compact)],
  ratios: [],
});

function markdown(runs: ScenarioRun[]): string {
  return renderMarkdown(runs, { started: new Date(0), machine: "test", quick: false, svg: "x.svg", outDir: "out" });
}

function repeated(id: string, rounds: unknown[]): ScenarioRun {
  return { def: { id, title: id }, command: "cmd", rounds, data: rounds[medianRun(id, rounds)] };
}

describe("bench suite report", () => {
  it("suite report - a repeated (c) counts the runs meeting both halves, met only for a majority", () => {
    const two = markdown([repeated("c10", [durable(55_000, 45), durable(48_000, 44), durable(60_000, 41)])]);
    expect(two).toContain("3 runs: 55,000/s, p99 45.0 ms ✓; 48,000/s, p99 44.0 ms; 60,000/s, p99 41.0 ms ✓ | **met** in 2 of 3 runs |");
    const one = markdown([repeated("c10", [durable(55_000, 51), durable(48_000, 44), durable(60_000, 41)])]);
    expect(one).toContain("| **not met** in 1 of 3 runs |");
    // A run that gave no result counts, as a run that met nothing.
    const failed = markdown([repeated("c10", [durable(55_000, 45), null, durable(60_000, 41)])]);
    expect(failed).toContain("3 runs: 55,000/s, p99 45.0 ms ✓; no result; 60,000/s, p99 41.0 ms ✓ | **met** in 2 of 3 runs |");
    const mostlyFailed = markdown([repeated("c10", [null, null, durable(60_000, 41)])]);
    expect(mostlyFailed).toContain("| **not met** in 1 of 3 runs |");
  });

  it("suite report - a repeated (a) ratio compares targets within each run, and shows the median run", () => {
    const rounds = [fanout(10e6, 7e6), fanout(8e6, 7.2e6), fanout(9e6, 7.5e6)];
    expect(medianRun("amax", rounds)).toBe(2); // ratios 0.70, 0.90, 0.83: the median is the third run
    const md = markdown([repeated("amax", rounds)]);
    expect(md).toContain("| (a) ≥ 0.80 of raw-batched deliveries (max rate), compact msgs frames | 3 runs: 0.70; 0.90 ✓; 0.83 ✓ | **met** in 2 of 3 runs |");
    expect(md).toContain("the tables below show the median run (run 3:");
  });

  it("suite report - the median run of a connections scenario is by memory per idle connection", () => {
    const conns = (kb: number) => ({ results: [{ target: "storm", nodes: 6, held: 100_000, failed: 0, kbPerConn: kb, kbPerConnIdle: kb, errors: {} }] });
    expect(medianRun("d", [conns(9), conns(7), conns(8)])).toBe(2);
    expect(medianRun("d", [conns(9)])).toBe(0);
  });

  it("suite report - a single run keeps the one-figure line", () => {
    const md = markdown([{ def: { id: "c10", title: "c10" }, command: "cmd", data: durable(49_000, 40) }]);
    expect(md).toContain("| 49,000/s, p99 40.0 ms | **not met** |");
  });

  it("suite report - each many-rooms shape gets its own #31 lines, CPU per delivery against raw-batched and Centrifugo of the same run", () => {
    const withCpu = (name: string, us: number, p99: number) => ({ ...target(name, 20_000), latencyMs: { p50: 1, p99, p999: p99 },
      cpuDetail: { serverThreads: [], subscriberProcs: [], publisherProcs: [], usPerDelivery: { machine: us * 2, server: us, load: us } } });
    const rooms = (storm: number) => ({ params: { rate: 2000 }, ratios: [],
      results: [withCpu("raw-batched", 10, 2), withCpu("centrifugo", 20, 2), withCpu("storm", storm, 3)] });
    const md = markdown([repeated("b1k", [rooms(12), rooms(30), rooms(14)])]);
    expect(md).toContain("| (b1k) #31: Storm server CPU per delivery ≤ 1.3× raw-batched's | 3 runs: 12.0 / 10.0 µs = 1.20× ✓; 30.0 / 10.0 µs = 3.00×; 14.0 / 10.0 µs = 1.40× | **not met** in 1 of 3 runs |");
    expect(md).toContain("| (b1k) #31: Storm server CPU per delivery ≤ Centrifugo's");
    expect(md).toContain("3 runs: 12.0 / 20.0 µs = 0.60× ✓; 30.0 / 20.0 µs = 1.50×; 14.0 / 20.0 µs = 0.70× ✓ | **met** in 2 of 3 runs |");
    expect(md).not.toContain("| (b) #31");
  });
});
