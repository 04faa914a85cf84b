import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { durableFigures, fanoutFigures, microReport, order, summarize, type Run } from "./ab.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "storm-ab-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const run = (round: number, side: "A" | "B", figures: Record<string, number>): Run => ({ round, side, figures });

describe("bench ab", () => {
  it("bench ab - alternates which side runs first, round by round", () => {
    expect(order(3)).toEqual(["A", "B", "B", "A", "A", "B"]);
  });

  it("bench ab - summarizes each side's mean and range, and says whether the ranges separate", () => {
    const runs = [
      run(1, "A", { x: 10, y: 1 }), run(1, "B", { x: 13, y: 2 }),
      run(2, "B", { x: 14, y: 0.5 }), run(2, "A", { x: 12, y: 1.5, onlyA: 3 }),
    ];
    const s = summarize(runs);
    expect(s.map((f) => f.figure)).toEqual(["x", "y"]); // a figure one side lacks is not compared
    const [x, y] = s;
    expect(x).toEqual({ figure: "x", a: { mean: 11, min: 10, max: 12, n: 2 }, b: { mean: 13.5, min: 13, max: 14, n: 2 }, ratio: 13.5 / 11, separated: true });
    expect(y!.separated).toBe(false);
    expect(y!.ratio).toBeCloseTo(1.25 / 1.25);
    // One run a side has no range to compare, however far apart the two values are.
    expect(summarize([run(1, "A", { x: 1 }), run(1, "B", { x: 100 })])[0]!.separated).toBe(false);
  });

  it("bench ab - a micro-benchmark's two sides are reported with their means, ranges and ratio", () => {
    expect(microReport("µs/row", { name: "old", xs: [2, 3] }, { name: "new", xs: [1, 1.5] }).split("\n")).toEqual([
      "old  2.500 µs/row [2.000–3.000]",
      "new  1.250 µs/row [1.000–1.500]",
      "new / old: 0.50 (ranges separate)",
    ]);
    expect(microReport("µs", { name: "a", xs: [1, 3] }, { name: "b", xs: [2, 4] })).toMatch(/b \/ a: 1\.50 \(ranges overlap\)$/);
  });

  it("bench ab - reads the figures of the committed suite results of both drivers", () => {
    // A suite result is one driver output, or with `--repeat` every run's output under `rounds`.
    const driverOutput = (file: string) => {
      const d = JSON.parse(readFileSync(join(ROOT, "tools/bench/results/suite", file), "utf8"));
      return d.rounds ? d.rounds[0] : d;
    };
    const fan = fanoutFigures(driverOutput("amax.json"));
    expect(fan["raw-batched delivered/s"]).toBeGreaterThan(0);
    expect(fan["storm-compact p99 ms"]).toBeGreaterThan(0);
    expect(fan["storm-compact / raw-batched"]).toBeCloseTo(fan["storm-compact delivered/s"]! / fan["raw-batched delivered/s"]!, 6);
    const amax = driverOutput("amax.json");
    const compact = amax.results.find((r: { target: string }) => r.target === "storm-compact");
    expect(fan["storm-compact server CPU µs/delivery"]).toBe(compact.cpuDetail.usPerDelivery.server);
    const c = driverOutput("c.json");
    const dur = durableFigures(c);
    expect(Object.keys(dur).sort()).toEqual(["PostgreSQL CPU µs/publish", "raw pg rows/s", "server CPU µs/publish", "storm / raw pg", "storm acked/s", "storm p99 ms"]);
    expect(dur["PostgreSQL CPU µs/publish"]).toBeCloseTo((c.storm.cpuPercent.postgres * 1e4) / c.storm.ackedPerSec, 6);
    expect(dur["server CPU µs/publish"]).toBeGreaterThan(1);
  });

  it("bench ab - runs the fan-out driver alternately for each side and prints the comparison", async () => {
    const bin = join(ROOT, "dist/bin/storm.js");
    const out = join(tmp, "ab.json");
    // Baseline targets only: the plumbing (spawn, flags, JSON, summary) without waiting for Storm to start.
    const args = [join(ROOT, "dist-tools/tools/bench/ab.js"), "--a", bin, "--b", bin, "--rounds", "1", "--json", out, "--",
      "--subscribers", "20", "--rate", "50", "--duration", "1", "--warmup", "0", "--targets", "raw-batched,raw"];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const code = await new Promise<number | null>((r) => child.on("exit", r));
    expect(code, stderr).toBe(0);
    const result = JSON.parse(readFileSync(out, "utf8")) as { runs: Run[]; summary: Array<{ figure: string }> };
    expect(result.runs.map((r) => r.side)).toEqual(["A", "B"]);
    expect(result.summary.map((s) => s.figure)).toContain("raw / raw-batched");
    expect(stdout).toContain("| raw-batched delivered/s |");
  }, 120_000);

  it("bench ab - refuses to run without both builds, and flags meant for the driver", async () => {
    const fail = async (args: string[]) => {
      const child = spawn(process.execPath, [join(ROOT, "dist-tools/tools/bench/ab.js"), ...args], { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      const code = await new Promise<number | null>((r) => child.on("exit", r));
      return { code, stderr };
    };
    expect(await fail(["--a", "x"])).toEqual({ code: 1, stderr: expect.stringContaining("without --a and --b") });
    expect(await fail(["--a", "x", "--b", "y", "--", "--json", "f"])).toEqual({ code: 1, stderr: expect.stringContaining("not to the driver") });
  });
});
