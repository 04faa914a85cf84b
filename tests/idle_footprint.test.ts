import { readFileSync } from "node:fs";
import { afterAll, describe, expect, test } from "vitest";
import { type StormProcess, startStorm } from "./harness/storm_process.ts";

/**
 * An idle embedded node's resident memory (ARCHITECTURE.md, "Where a node's memory goes"): about
 * 230-280 MB measured with one actor worker, against 850 MB before PGlite got a 16 MB
 * `shared_buffers` and initdb its own process. The bound is loose for a busy machine, and tight
 * enough that either change undone (364 MB and about 700 MB measured) fails.
 */
const BOUND_MB = 330;
const nodes: StormProcess[] = [];

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
});

/** Resident set of a process, MB (Linux: /proc). */
function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

describe.skipIf(process.platform !== "linux")("idle footprint", () => {
  test("footprint - an idle embedded node stays under its bound on a fresh data dir and after a restart", async () => {
    const node = await startStorm({ workers: 1 });
    nodes.push(node);
    // One round trip through every thread (edge, actor worker, storage thread) before measuring.
    expect((await node.http("POST", "/channels", { token: await node.token("idle"), body: { name: "idle" } })).status).toBe(201);
    const fresh = rssMb(node.proc.pid!);
    await node.restart();
    expect((await node.http("GET", "/channels/idle", { token: await node.token("idle") })).status).toBe(200);
    const restarted = rssMb(node.proc.pid!);
    console.log(`idle RSS: fresh data dir ${fresh.toFixed(0)} MB, after a restart ${restarted.toFixed(0)} MB (bound ${BOUND_MB} MB)`);
    expect(fresh).toBeLessThan(BOUND_MB);
    expect(restarted).toBeLessThan(BOUND_MB);
  }, 120_000);
});
