import { spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startStorm, type StormProcess } from "../harness/storm_process.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The README's SDK example, as written there: the first `ts` block after "In ten lines". */
function readmeExample(): string {
  const readme = readFileSync(`${ROOT}README.md`, "utf8");
  const at = readme.indexOf("In ten lines");
  const m = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  if (at < 0 || !m) throw new Error("README.md has no SDK example after 'In ten lines'");
  return m[1]!;
}

let node: StormProcess;

beforeAll(async () => {
  node = await startStorm();
}, 60_000);

afterAll(async () => {
  await node?.stop();
});

it("the README's SDK example runs as shown (npx tsx) against a node and commits its message", async () => {
  const code = readmeExample();
  expect(code).toContain("http://127.0.0.1:8080");
  // Saved in the checkout, as the README says, pointing at this test's node instead of port 8080.
  const file = `${ROOT}.readme-example-${process.pid}.ts`;
  writeFileSync(file, code.replaceAll("http://127.0.0.1:8080", node.url));
  try {
    const { status, out } = await run(file);
    expect(status, out).toBe(0);
    expect(out).toMatch(/^connected websocket/m);
    expect(out).toMatch(/^committed as 1$/m);
  } finally {
    rmSync(file, { force: true });
  }
  const hist = await node.http("GET", "/channels/general/messages?after=0", { token: await node.token("alice") });
  expect((hist.body as { messages: Array<{ from: string; body: string }> }).messages.map((m) => [m.from, m.body])).toEqual([["alice", "hello"]]);
}, 60_000);

/** Runs a TypeScript file with tsx; resolves with its exit status and output (stdout and stderr). */
function run(file: string): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", file], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 45_000);
    child.on("exit", (status) => {
      clearTimeout(timer);
      resolve({ status, out });
    });
  });
}
