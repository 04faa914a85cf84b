import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { cachedCentrifugo } from "./baselines/centrifugo.ts";
import { scanCentrifugoPushes } from "./centrifugo_clients.ts";
import { Sub } from "./fanout_sub.ts";
import type { FanoutOutput } from "./fanout_bench.ts";
import { makeBody } from "./fanout_common.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DRIVER = join(ROOT, "dist-tools", "tools", "bench", "fanout_bench.js");
const dir = mkdtempSync(join(tmpdir(), "storm-centrifugo-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bin = cachedCentrifugo();

function runDriver(args: string[], json: string): Promise<FanoutOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DRIVER, ...args, "--json", json], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      try {
        resolve(JSON.parse(readFileSync(json, "utf8")) as FanoutOutput);
      } catch (err) {
        reject(new Error(`no JSON result (exit ${code}): ${String(err)}\n${out}`));
      }
    });
  });
}

describe("centrifugo baseline", () => {
  it("centrifugo - the push scanner reads every publication of a newline-joined message, per channel", () => {
    const push = (ch: number, seq: number, ts: number) => JSON.stringify({ push: { channel: `r${ch}`, pub: { data: makeBody(seq, ts, ch, 60) } } });
    const seen: number[] = [];
    const sub = new Sub({ onMsg: (lat) => seen.push(lat), onWire: () => {} }, [3, 12]);
    const n = scanCentrifugoPushes(Buffer.from([push(3, 1, 1000), push(12, 1, 2000), push(3, 3, 3000)].join("\n")), sub, 10_000);
    expect(n).toBe(3);
    expect(seen).toEqual([9_000, 8_000, 7_000]);
    expect(sub.exp).toEqual([4, 2]);
    expect(sub.gaps).toBe(1); // channel 3 skipped seq 2
    expect(scanCentrifugoPushes(Buffer.from('{"id":2,"subscribe":{}}'), sub, 0)).toBe(0);
    expect(scanCentrifugoPushes(Buffer.from('{"push":{"channel":"r3","pub":{"data":"4"}}}'), sub, 0)).toBe(0);
    expect(sub.badFrames).toBe(1);
  });

  it.skipIf(!bin)(`centrifugo - many rooms, quick: every subscriber gets every publish of its rooms in order${bin ? "" : " (skipped: no Centrifugo binary; deploy/centrifugo.sh fetch builds one, with Go)"}`, async () => {
    const json = join(dir, "b.json");
    const out = await runDriver(["--subscribers", "40", "--channels", "40", "--per-conn", "4", "--rate", "200", "--duration", "2", "--warmup", "1",
      "--load-procs", "1", "--targets", "centrifugo"], json);
    const r = out.results[0]!;
    expect(r.error, r.error).toBeUndefined();
    expect(r.skipped, r.skipped).toBeUndefined();
    expect(r.connected).toBe(40);
    expect(r.deliveredPerSec).toBeGreaterThan(0.8 * 200 * 4);
    expect(r.serverRssMB.peakDuringRun).toBeGreaterThan(0);
    const v = r.violations;
    expect({ gaps: v.gaps, reorders: v.reorders, badFrames: v.badFrames, closed: v.closed, undelivered: v.undelivered, pubErrors: v.pubErrors })
      .toEqual({ gaps: 0, reorders: 0, badFrames: 0, closed: 0, undelivered: 0, pubErrors: 0 });
  }, 120_000);
});
