import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { runCommand, type StormProcess, startStorm } from "./harness/storm_process.ts";

/**
 * Safe by default, through the front door: every refused start-up is one line naming cause and
 * fix with its own exit status, and happens before the store is touched; a data directory has one
 * node at a time; admin dev tokens and secrets on argv need saying so.
 */
const nodes: StormProcess[] = [];
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "storm-startup-"));
  dirs.push(d);
  return d;
}

const SECRET = "0123456789abcdef0123456789abcdef-test";

describe("start-up", () => {
  test("start-up - a second node on a data directory exits at once with status 3, naming the holder's pid; a killed holder's lock needs no cleanup", async () => {
    const dir = await tempDir();
    const first = await startStorm({ dataDir: dir, workers: 1 });
    nodes.push(first);
    const second = await runCommand(["serve", "--port", "0", "--data-dir", dir, "--workers", "1"]);
    expect(second.code, second.stderr).toBe(3);
    expect(second.stderr.trim().split("\n")).toEqual([`storm: Cannot start: the data directory ${dir} is in use by process ${first.proc.pid} (stop it, or give this node its own --data-dir)`]);
    expect(second.stdout).toBe("");
    expect(second.ms).toBeLessThan(5_000);
    // The first node still serves, undisturbed.
    expect((await first.http("GET", "/readyz")).status).toBe(200);
    await first.kill("SIGKILL");
    await first.restart();
    expect((await first.http("GET", "/readyz")).status).toBe(200);
  }, 90_000);

  test("start-up - a taken port exits 4 before the store is opened", async () => {
    const dir = await tempDir();
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runCommand(["serve", "--port", String(port), "--data-dir", dir, "--workers", "1"]);
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr.trim().split("\n")).toEqual([`storm: Cannot listen on 127.0.0.1:${port}: EADDRINUSE (stop what uses it, or choose another --port)`]);
      // Nothing of the store was created: only the secret-free, lock-free directory is left.
      expect(await readdir(dir)).toEqual([]);
    } finally {
      blocker.close();
    }
  });

  test("start-up - an unreachable store exits 5 with one line naming it", async () => {
    const r = await runCommand(["serve", "--port", "0", "--data-dir", await tempDir(), "--postgres", "postgresql://storm:hunter2@127.0.0.1:1/storm"]);
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr.trim().split("\n")).toEqual([
      "storm: Cannot open PostgreSQL at postgresql://storm:***@127.0.0.1:1/storm: Cannot migrate schema: connect ECONNREFUSED 127.0.0.1:1 (check that the server runs and --postgres is right)",
    ]);
  });

  test("start-up - bad configuration exits 2 with the fix, before touching the data directory", async () => {
    const dir = await tempDir();
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [["--jwt-secert", "abc", "--wrokers", "2"], {}, /^storm: Cannot parse arguments: unknown option "--jwt-secert" \(did you mean --jwt-secret\?\)$/],
      [["--port", "abc"], {}, /^storm: Cannot read --port: "abc" is not an integer in 0\.\.65535$/],
      [["--workers"], {}, /^storm: Cannot parse arguments: --workers needs a value$/],
      [[], { STORM_JWT_SECERT: SECRET }, /^storm: Cannot read the environment: unknown variable STORM_JWT_SECERT \(did you mean STORM_JWT_SECRET\?\)$/],
      [["--host", "0.0.0.0"], {}, /^storm: Cannot serve on --host 0\.0\.0\.0 without a JWT secret/],
      [["--jwt-secret", "short"], {}, /^storm: Cannot use the JWT secret: it must be at least 32 bytes/],
    ];
    for (const [args, env, message] of cases) {
      const r = await runCommand(["serve", "--data-dir", join(dir, "d"), ...args], { env });
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stderr.split("\n")[0]).toMatch(message);
      expect(r.stderr).toContain("storm serve: run a Storm node");
    }
    expect(await readdir(dir)).toEqual([]);
  });

  test("start-up - admin dev tokens need --dev-admin, which is warned about", async () => {
    const plain = await startStorm({ workers: 1 });
    nodes.push(plain);
    expect(await plain.http("POST", "/auth/dev-token", { body: { user: "ops", role: "admin" } })).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } });
    expect((await plain.http("POST", "/auth/dev-token", { body: { user: "alice" } })).status).toBe(200);
    expect(plain.stderr()).not.toMatch(/warning/);
    const dev = await startStorm({ workers: 1, args: ["--dev-admin"] });
    nodes.push(dev);
    expect((await dev.http("POST", "/auth/dev-token", { body: { user: "ops", role: "admin" } })).status).toBe(200);
    expect(dev.stderr()).toMatch(/^storm: warning: --dev-admin: POST \/auth\/dev-token mints ADMIN tokens/m);
  }, 90_000);

  test("start-up - secrets from a file or the environment start silently; on argv they work with a warning", async () => {
    const file = join(await tempDir(), "jwt");
    await writeFile(file, `${SECRET}\n`);
    const fromFile = await startStorm({ workers: 1, args: ["--jwt-secret-file", file] });
    nodes.push(fromFile);
    expect(fromFile.stderr()).not.toMatch(/warning/);
    // A production secret: the dev-token route is off.
    expect((await fromFile.http("POST", "/auth/dev-token", { body: { user: "a" } })).status).toBe(404);
    const onArgv = await startStorm({ workers: 1, args: ["--jwt-secret", SECRET] });
    nodes.push(onArgv);
    expect(onArgv.stderr()).toMatch(/^storm: warning: --jwt-secret on the command line is visible to every local user \(ps\): use --jwt-secret-file or STORM_JWT_SECRET$/m);
  }, 90_000);

  test("probes - while a node starts, /livez answers 200 and /readyz 503; once started /readyz is 200", async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, "127.0.0.1", () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const starting = startStorm({ workers: 1, args: ["--port", String(port)], startTimeoutMs: 80_000 });
    const seen = new Set<string>();
    const probe = async (path: string) => {
      try {
        const r = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2_000) });
        return r.status;
      } catch {
        return 0;
      }
    };
    let node: StormProcess | undefined;
    let failed: unknown;
    starting.then((n) => (node = n), (err: unknown) => (failed = err));
    // A fresh data dir takes seconds to initialise its store: the port answers meanwhile.
    while (!node && !failed) {
      const [live, ready] = await Promise.all([probe("/livez"), probe("/readyz")]);
      if (live !== 0) seen.add(`livez ${live} readyz ${ready}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!node) throw failed;
    nodes.push(node);
    expect(seen).toContain("livez 200 readyz 503");
    expect(await probe("/readyz")).toBe(200);
  }, 90_000);

  test("probes - /livez and /readyz answer without a token, and both are in the OpenAPI document", async () => {
    const n = nodes[0]!;
    expect(await n.http("GET", "/livez")).toMatchObject({ status: 200, body: { ok: true } });
    expect(await n.http("GET", "/healthz")).toMatchObject({ status: 200, body: { ok: true } });
    expect(await n.http("GET", "/readyz")).toMatchObject({ status: 200, body: { ready: true, checks: { started: true, store: true } } });
    const paths = Object.keys((await n.http("GET", "/openapi.json")).body.paths);
    expect(paths).toEqual(expect.arrayContaining(["/livez", "/readyz", "/healthz"]));
  });
});
