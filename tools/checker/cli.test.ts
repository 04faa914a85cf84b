import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runStormCheck } from "./cli.ts";

let dir: string;
const line = (o: object) => `${JSON.stringify(o)}\n`;
const c1 = [
  line({ k: "pub", client: "c1", ch: "g", cid: "m1", body: "a" }),
  line({ k: "ack", client: "c1", ch: "g", cid: "m1", seq: 1 }),
  line({ k: "pub", client: "c1", ch: "g", cid: "m2", body: "b" }),
  line({ k: "ack", client: "c1", ch: "g", cid: "m2", seq: 2 }),
].join("");
const delivery = (seq: number, cid: string, body: string) => line({ k: "deliver", client: "c2", ch: "g", seq, cid, body, conn: 1 });
const journal = [line({ ch: "g", seq: 1, cid: "m1", body: "a" }), line({ ch: "g", seq: 2, cid: "m2", body: "b" })].join("");

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runStormCheck(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "storm-check-"));
  await mkdir(join(dir, "run", "node1"), { recursive: true });
  await writeFile(join(dir, "run", "c1.jsonl"), c1);
  await writeFile(join(dir, "run", "node1", "c2.jsonl"), delivery(1, "m1", "a") + delivery(2, "m2", "b"));
  await writeFile(join(dir, "gap.jsonl"), delivery(2, "m2", "b"));
  await writeFile(join(dir, "bad.jsonl"), delivery(1, "m1", "a") + `{"k":"deliver"}\n`);
  await writeFile(join(dir, "journal.jsonl"), journal);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("storm-check", () => {
  test("storm-check - a clean run exits 0 with a summary", async () => {
    const r = await run("--history", join(dir, "run"), "--journal", join(dir, "journal.jsonl"));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^storm-check: OK, no violation\nhistory: 2 published \(2 acked, 0 errors; unacked: 0 committed, 0 lost\), 2 delivered in 1 stream\n/);
  });

  test("storm-check - a violation exits 1 and prints it with its evidence and where it was read", async () => {
    const gap = join(dir, "gap.jsonl");
    const r = await run("--history", join(dir, "run", "c1.jsonl"), gap, "--journal", join(dir, "journal.jsonl"));
    expect(r.code).toBe(1);
    expect(r.out).toContain("storm-check: FAIL, 1 violation (delivery_gap 1)");
    expect(r.out).toContain('delivery_gap [g] stream of client "c2" on connection 1 (after 0) skipped seq 1');
    expect(r.out).toContain(`    ${gap}:1  {"k":"deliver"`);
  });

  test("storm-check - --json prints the result as JSON", async () => {
    const r = await run("--json", "--history", join(dir, "gap.jsonl"), join(dir, "run", "c1.jsonl"), "--journal", join(dir, "journal.jsonl"));
    expect(r.code).toBe(1);
    const parsed = JSON.parse(r.out) as { ok: boolean; violations: Array<{ kind: string }>; stats: { delivered: number } };
    expect(parsed.ok).toBe(false);
    expect(parsed.violations.map((v) => v.kind)).toEqual(["delivery_gap"]);
    expect(parsed.stats.delivered).toBe(1);
  });

  test("storm-check - a bad history line exits 2 naming the line and file", async () => {
    const bad = join(dir, "bad.jsonl");
    const r = await run("--history", bad, "--journal", join(dir, "journal.jsonl"));
    expect(r.code).toBe(2);
    expect(r.err).toBe(`storm-check: Cannot parse history line 2 of ${bad}: "client" must be a string, got nothing`);
  });

  test("storm-check - missing files and bad arguments exit 2", async () => {
    expect((await run("--history", join(dir, "nope"), "--journal", join(dir, "journal.jsonl"))).err).toMatch(/^storm-check: Cannot read history .*nope: ENOENT/);
    expect((await run("--history", join(dir, "run"))).code).toBe(2);
    const unknown = await run("--history", join(dir, "run"), "--journal", "j", "--fast");
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('Cannot parse arguments: unknown option "--fast"');
  });

  test("storm-check - the command's exit status is the check's verdict", () => {
    const tsx = join(import.meta.dirname, "..", "..", "node_modules", ".bin", "tsx");
    const bin = join(import.meta.dirname, "..", "bin", "storm-check.ts");
    const clean = spawnSync(tsx, [bin, "--history", join(dir, "run"), "--journal", join(dir, "journal.jsonl")], { encoding: "utf8" });
    expect(clean.status, clean.stderr).toBe(0);
    const gap = spawnSync(tsx, [bin, "--history", join(dir, "gap.jsonl"), "--journal", join(dir, "journal.jsonl")], { encoding: "utf8" });
    expect(gap.status, gap.stderr).toBe(1);
  });
});
