import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { build } from "hdr-histogram-js";
import { afterAll, describe, expect, it } from "vitest";
import { driverArgs, SCENARIOS } from "../bin/storm-load.ts";
import { flags } from "./args.ts";
import { threadCpuSeconds, threadsPercent } from "./fanout_procs.ts";
import { scanStormCompact, scanStormMsgs } from "./fanout_clients.ts";
import { Sub } from "./fanout_sub.ts";
import { makeBody } from "./fanout_common.ts";
import { indexOf, LatencyCounts, valueAt } from "./latency_counts.ts";
import { ackFrame, compactMsgsFrame, errorFrame, msgsFrame } from "../../edge/frames.ts";
import { scanAcks } from "./ack_scanner.ts";
import type { FanoutOutput } from "./fanout_bench.ts";
import { overloaded, type TargetResult } from "./fanout_report.ts";
import { startStorm } from "../../tests/harness/storm_process.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = join(ROOT, "dist-tools", "tools", "bin", "storm-load.js");
const dir = mkdtempSync(join(tmpdir(), "storm-load-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the compiled CLI (as a user would) and returns its JSON result and its output. */
function runLoad(args: string[], json: string): Promise<{ code: number | null; out: string; result: FanoutOutput }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args, "--json", json], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      try {
        resolve({ code, out, result: JSON.parse(readFileSync(json, "utf8")) as FanoutOutput });
      } catch (err) {
        reject(new Error(`no JSON result (exit ${code}): ${String(err)}\n${out}`));
      }
    });
  });
}

function expectClean(r: FanoutOutput["results"][number], subscribers: number, expectedPerSec: number): void {
  expect(r.error, r.error).toBeUndefined();
  expect(r.connected).toBe(subscribers);
  expect(r.latencyMs.count).toBeGreaterThan(0);
  // every subscriber got (nearly) every publish of its channels while measuring, in order
  expect(r.deliveredPerSec).toBeGreaterThan(0.8 * expectedPerSec);
  const v = r.violations;
  expect({ gaps: v.gaps, reorders: v.reorders, badFrames: v.badFrames, closed: v.closed, undelivered: v.undelivered }).toEqual(
    { gaps: 0, reorders: 0, badFrames: 0, closed: 0, undelivered: 0 });
}

describe("storm-load", () => {
  it("storm-load - the byte scanner reads Storm msgs frames as JSON.parse would, per channel", () => {
    const entry = (seq: number, ts: number, ch: number) => ({ seq, ts: 1, sender: "bench-pub", clientId: `r-${ch}-${seq}`, body: makeBody(seq * 7, ts, ch, 60) });
    const one = msgsFrame("r3", [entry(1, 1000, 3), entry(2, 2000, 3)]);
    const two = msgsFrame("r12", [entry(5, 3000, 12)]);
    const seen: number[] = [];
    const sub = new Sub({ onMsg: (lat) => seen.push(lat), onWire: () => {} }, [3, 12]);
    expect(scanStormMsgs(Buffer.from(`[${one},${two}]`), sub, 10_000)).toBe(true);
    expect(seen).toEqual([9_000, 8_000, 7_000]); // now - the body's send time
    expect(sub.exp).toEqual([3, 6]); // next expected seq per channel: 3 after 1,2; 6 after 5
    expect(sub.gaps).toBe(1); // channel 12 started at 5
    expect(scanStormMsgs(Buffer.from('{"t":"subbed","id":2,"ch":"r3"}'), sub, 0)).toBe(false);
    expect(scanStormMsgs(Buffer.from(`[${one},{"t":"err","code":"x"}]`), sub, 0)).toBe(false);
    // Anything the scanner cannot read exactly is left, whole, to JSON.parse: nothing is delivered twice.
    const quoted = msgsFrame("r3", [{ ...entry(3, 4000, 3), body: `${makeBody(21, 4000, 3, 10)}"q"` }]);
    expect(scanStormMsgs(Buffer.from(`[${one},${quoted}]`), sub, 0)).toBe(false);
    // a row ends at its first `}`: one inside a body or a sender is not a row's end
    const braced = msgsFrame("r3", [{ ...entry(3, 4000, 3), body: `${makeBody(21, 4000, 3, 10)}}x` }]);
    expect(scanStormMsgs(Buffer.from(`[${one},${braced}]`), sub, 0)).toBe(false);
    expect(scanStormMsgs(Buffer.from(msgsFrame("r3", [{ ...entry(3, 4000, 3), sender: "}x" }])), sub, 0)).toBe(false);
    expect(scanStormMsgs(Buffer.from(msgsFrame("r3", [])), sub, 0)).toBe(true);
    expect(scanStormMsgs(Buffer.from(one.slice(0, -3)), sub, 0)).toBe(false);
    expect(seen).toHaveLength(3);
    expect(scanStormMsgs(Buffer.from(msgsFrame("r3", [entry(3, 9000, 3)])), sub, 10_000)).toBe(true);
    expect(seen).toEqual([9_000, 8_000, 7_000, 1_000]);
    expect(sub.exp).toEqual([4, 6]);
  });

  it("storm-load - the byte scanner reads compact msgs frames (?enc=compact) as JSON.parse would", () => {
    const entry = (seq: number, ts: number, ch: number, sender = "bench-pub") => ({ seq, ts: 1_000 + seq, sender, clientId: `r-${ch}-${seq}`, body: makeBody(seq * 7, ts, ch, 60) });
    const one = compactMsgsFrame("r3", [entry(1, 1000, 3), entry(2, 2000, 3)]);
    const two = compactMsgsFrame("r12", [entry(5, 3000, 12)]);
    // Rows with and without their sender.
    expect(JSON.parse(one)).toMatchObject({ seq: 1, m: [[1001, "bench-pub", expect.any(String)], [1, expect.any(String)]] });
    const seen: number[] = [];
    const sub = new Sub({ onMsg: (lat) => seen.push(lat), onWire: () => {} }, [3, 12]);
    expect(scanStormCompact(Buffer.from(`[${one},${two}]`), sub, 10_000)).toBe(true);
    expect(seen).toEqual([9_000, 8_000, 7_000]);
    expect(sub.exp).toEqual([3, 6]);
    expect(sub.gaps).toBe(1);
    // Object-form frames, replies and anything not read exactly are left whole to JSON.parse.
    expect(scanStormCompact(Buffer.from(msgsFrame("r3", [entry(3, 4000, 3)])), sub, 0)).toBe(false);
    expect(scanStormCompact(Buffer.from(`[${one},{"t":"ack","id":3,"ch":"r3","seq":9}]`), sub, 0)).toBe(false);
    const quoted = compactMsgsFrame("r3", [{ ...entry(3, 4000, 3), body: `${makeBody(21, 4000, 3, 10)}"q"` }]);
    expect(scanStormCompact(Buffer.from(quoted), sub, 0)).toBe(false);
    expect(scanStormCompact(Buffer.from(one.slice(0, -3)), sub, 0)).toBe(false);
    expect(seen).toHaveLength(3);
    expect(scanStormCompact(Buffer.from(compactMsgsFrame("r3", [])), sub, 0)).toBe(true);
    expect(scanStormCompact(Buffer.from(compactMsgsFrame("r3", [entry(3, 9000, 3), entry(4, 9500, 3, "other"), entry(5, 9600, 3, "other")])), sub, 10_000)).toBe(true);
    expect(seen).toEqual([9_000, 8_000, 7_000, 1_000, 500, 400]);
    expect(sub.exp).toEqual([6, 6]);
  });

  it("storm-load - the ack scanner reads the server's ack frames as JSON.parse would, and leaves anything else to it", () => {
    const channels = ["d1", "d11"].map((c) => Buffer.from(c));
    const out: number[] = [];
    const read = (text: string) => {
      const n = scanAcks(Buffer.from(text), channels, out);
      return n < 0 ? n : out.slice(0, n);
    };
    expect(read(ackFrame(12, "d11", 345, false))).toEqual([12, 1, 345]);
    expect(read(`[${ackFrame(1, "d1", 9, false)},${ackFrame(2, "d11", 10, false)}]`)).toEqual([1, 0, 9, 2, 1, 10]);
    for (const other of [
      ackFrame(3, "d1", 4, true), // a duplicate's ack
      ackFrame(3, "d2", 4, false), // a channel this connection does not publish to
      `[${ackFrame(1, "d1", 9, false)},${errorFrame(2, new Error("boom"))}]`,
      ackFrame(1, "d1", 9, false).slice(0, -1),
      `[${ackFrame(1, "d1", 9, false)}`,
      msgsFrame("d1", []),
    ]) expect(read(other), other).toBe(-1);
  });

  it("storm-load - a fixed-rate target is overloaded when it delivers 5 % less than offered, or 2 % more (a backlog drained)", () => {
    // 10,000 rooms of 10 at 5,000 publishes/s: 50,000 deliveries/s offered.
    const run = (deliveredPerSec: number, offeredRate: number | "max" = 5000) =>
      overloaded({ offeredRate, connected: 10_000, perConn: 10, channels: 10_000, deliveredPerSec } as TargetResult);
    expect(run(50_065)).toBe(false);
    expect(run(47_600)).toBe(false);
    expect(run(50_900)).toBe(false);
    expect(run(47_400)).toBe(true);
    expect(run(51_899)).toBe(true);
    expect(run(1, "max")).toBe(false);
  });

  it("storm-load - latency counts give the percentiles an HDR histogram of every value gives, within 0.1 %", () => {
    const hdr = () => build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 120_000_000 }), { minLength: 1, maxLength: 2_000 }), (values) => {
        const direct = hdr();
        const counts = new LatencyCounts();
        for (const v of values) {
          direct.recordValue(v);
          counts.record(v);
        }
        const viaCounts = hdr();
        counts.addTo(viaCounts);
        expect(viaCounts.totalCount).toBe(values.length);
        for (const p of [0, 50, 90, 99, 99.9, 100]) {
          const [a, b] = [direct.getValueAtPercentile(p), viaCounts.getValueAtPercentile(p)];
          expect(Math.abs(a - b)).toBeLessThanOrEqual(Math.max(1, a / 1000));
        }
      }),
      { numRuns: 50 },
    );
    // Every bucket's lowest value maps back to that bucket.
    for (let i = 0; i < 2048 + 17 * 1024; i += 7) expect(indexOf(valueAt(i))).toBe(i);
  });

  it("storm-load - the CLI keeps the user's options first and fills in the scenario's defaults", () => {
    expect(driverArgs(SCENARIOS["rooms"]!, ["--rate", "10"])).toEqual([
      "--rate", "10", "--subscribers", "10000", "--channels", "10000", "--per-conn", "10",
      "--pub-procs", "2", "--load-procs", "4", "--warmup", "3",
    ]);
  });

  it("storm-load - a driver refuses a flag it never reads (a typo) and skips the values of those it does", () => {
    const read = (argv: string[]) => {
      const f = flags(argv, { exit: false });
      const o = { rate: f.get("rate", "100"), args: f.get("server-node-args", ""), pg: f.has("storm-postgres"), n: f.num("window", 256) };
      f.done("usage");
      return o;
    };
    expect(read(["--rate", "max", "--server-node-args", "--cpu-prof --cpu-prof-dir=/tmp/p", "--storm-postgres"]))
      .toEqual({ rate: "max", args: "--cpu-prof --cpu-prof-dir=/tmp/p", pg: true, n: 256 });
    expect(() => read(["--rat", "5"])).toThrow(/unknown option "--rat" \(did you mean --rate\?\)/);
    expect(() => read(["--rate", "5", "--storm-postgres", "--quick"])).toThrow(/unknown option "--quick"/);
    expect(() => read(["--window", "-3"])).toThrow(/--window/);
    expect(() => read(["--rate"])).toThrow(/--rate needs a value/);
    expect(() => read(["--rate", "5", "extra"])).toThrow(/unexpected argument "extra"/);
  });

  it("storm-load - an integer flag is rounded down and held within its bounds, and read like any other", () => {
    const int = (argv: string[]) => {
      const f = flags(argv, { exit: false });
      const v = f.int("batch", 16, 1, 256);
      f.done("usage");
      return v;
    };
    expect(int([])).toBe(16);
    expect(int(["--batch", "7.9"])).toBe(7);
    expect(int(["--batch", "0"])).toBe(1);
    expect(int(["--batch", "1000"])).toBe(256);
    expect(() => int(["--batch", "x"])).toThrow(/--batch/);
  });

  it("storm-load - per-thread CPU: what the main thread burns is counted as the main thread's", () => {
    const before = threadCpuSeconds(process.pid);
    const main0 = before.get(process.pid)!;
    expect(main0).toBeGreaterThan(0);
    const t0 = process.hrtime.bigint();
    let x = 0;
    // Burn 300 ms of this thread's own CPU, however long the machine takes to give it.
    while ((threadCpuSeconds(process.pid).get(process.pid) ?? 0) - main0 < 0.3) for (let i = 0; i < 1e6; i++) x += Math.sqrt(i);
    const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
    const t = threadsPercent(process.pid, before, threadCpuSeconds(process.pid), wallS);
    expect(x).toBeGreaterThan(0);
    expect((t.main / 100) * wallS).toBeGreaterThanOrEqual(0.3 - 1e-9);
    expect((t.main / 100) * wallS).toBeLessThan(0.45);
    expect(t.others.every((o, i) => o >= 0.5 && (i === 0 || o <= t.others[i - 1]!))).toBe(true);
  });

  it("storm-load - many rooms: every target delivers each room's publishes in order to its subscribers", async () => {
    // 24 connections in 3 of 8 channels each: 9 subscribers per channel, 2 publisher processes
    const json = join(dir, "rooms.json");
    const { code, out, result } = await runLoad(["rooms", "--subscribers", "24", "--channels", "8", "--per-conn", "3",
      "--rate", "80", "--duration", "2", "--warmup", "1", "--load-procs", "2", "--targets", "raw-batched,socketio,storm"], json);
    expect(code, out).toBe(0);
    expect(out).toMatch(/\[storm\]\s+\d+ s\s+connected/); // progress lines while it runs
    for (const r of result.results) expectClean(r, 24, 80 * 9);
    const storm = result.results.find((r) => r.target === "storm")!;
    expect(storm.expectedDeliveredPerSec).toBeCloseTo(storm.pubAckedPerSec * 9, 0);
    expect(result.ratios.map((x) => `${x.numerator}/${x.denominator}`)).toEqual(
      ["storm/raw-batched", "storm/socketio", "socketio/raw-batched"]);
  }, 120_000);

  it("storm-load - drives an already running Storm through --url, with compact msgs frames", async () => {
    const storm = await startStorm();
    try {
      const json = join(dir, "url.json");
      const { code, out, result } = await runLoad(["fanout", "--url", storm.wsUrl.replace(/\/ws$/, ""),
        "--server-pid", String(storm.proc.pid), "--subscribers", "10", "--rate", "50", "--duration", "1",
        "--warmup", "0.5", "--load-procs", "1", "--targets", "storm-compact"], json);
      expect(code, out).toBe(0);
      const r = result.results[0]!;
      expectClean(r, 10, 50 * 10);
      expect(r.serverRssMB.end).toBeGreaterThan(10); // measured through --server-pid
      // the channel the load generator used exists on that node now
      const token = await storm.token("probe");
      expect((await storm.http("GET", "/channels/bench", { token })).status).toBe(200);
    } finally {
      await storm.stop();
    }
  }, 120_000);
});
