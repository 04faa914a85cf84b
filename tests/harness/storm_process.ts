import { nodeProcessEnv } from "../../deploy/local_cluster.ts";
import { type HttpReply, httpJson } from "./http.ts";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * A real Storm node for tests: `node dist/bin/storm.js serve` as a child process on a free port of
 * 127.0.0.1, with its own data dir. The node is ready when it prints its `listening` JSON line.
 * Every child is killed (SIGKILL) when the test process exits, so a failed test leaves no orphan.
 * `dist/` must be built first (`npx tsc -p tsconfig.json`; `npm test` does it).
 */
export interface StormProcess {
  /** Port of the current run (a restart gets a new one). */
  readonly port: number;
  /** `http://127.0.0.1:<port>` of the current run. */
  readonly url: string;
  /** `ws://127.0.0.1:<port>/ws` of the current run. */
  readonly wsUrl: string;
  readonly dataDir: string;
  /** The current child process. */
  readonly proc: ChildProcess;
  /** Everything the node wrote to stderr (all runs), for failure messages. */
  readonly stderr: () => string;
  /** Sends `signal` (SIGKILL: a crash, no graceful stop) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the node again on the same data dir; stops it gracefully first if it still runs. */
  restart(): Promise<void>;
  /** Stops the node (SIGTERM, SIGKILL after a grace period) and deletes a data dir it created. */
  stop(): Promise<void>;
  /** A REST call; the reply body is parsed as JSON. */
  http(method: string, path: string, opts?: { token?: string; body?: unknown; raw?: string }): Promise<HttpReply>;
  /** A development token for `user` (`POST /auth/dev-token`). */
  token(user: string): Promise<string>;
}

export type { HttpReply };

export interface StormOptions {
  workers?: number;
  /** Extra `serve` flags, e.g. `["--history", "100"]`. */
  args?: string[];
  /** Use this data dir (kept on stop) instead of a fresh temp dir (deleted on stop). */
  dataDir?: string;
  /** How long to wait for the `listening` line; a fresh data dir runs initdb (~10 s). */
  startTimeoutMs?: number;
  /** Extra environment (e.g. `STORM_JWT_SECRET`), over the test process's own. */
  env?: Record<string, string | undefined>;
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit. */
  ms: number;
}

/**
 * Runs a built command to its end (`node <script> ...args`, script relative to the repo root,
 * default the `storm` binary): for start-up refusals, `--help` and `--version`. Killed past `timeoutMs`.
 */
export function runCommand(args: string[], o: { script?: string; cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {}): Promise<CommandResult> {
  installExitHook();
  const started = Date.now();
  const script = join(ROOT, o.script ?? "dist/bin/storm.js");
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [script, ...args], { cwd: o.cwd ?? ROOT, env: nodeProcessEnv(o.env), stdio: ["ignore", "pipe", "pipe"] });
    live.add(p);
    let stdout = "";
    let stderr = "";
    p.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    p.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), o.timeoutMs ?? 30_000);
    p.once("exit", (code) => {
      clearTimeout(timer);
      live.delete(p);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const ENTRY = join(ROOT, "dist", "bin", "storm.js");
const live = new Set<ChildProcess>();
/** Temp data dirs not yet deleted by `stop()`. */
const ownedDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = () => {
    for (const p of live) p.kill("SIGKILL");
    for (const d of ownedDirs) rmSync(d, { recursive: true, force: true });
  };
  process.on("exit", killAll);
  // A vitest fork whose parent died loses its IPC channel.
  if (process.send) process.once("disconnect", killAll);
  // A test process ended by a signal runs no "exit" handlers: kill the children, then die of it.
  for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    process.once(sig, () => {
      killAll();
      process.kill(process.pid, sig);
    });
  }
}

export async function startStorm(opts: StormOptions = {}): Promise<StormProcess> {
  if (!existsSync(ENTRY)) {
    throw new Error(`Cannot start Storm: ${ENTRY} is missing. Build first: cd ${ROOT} && npx tsc -p tsconfig.json`);
  }
  installExitHook();
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), "storm-test-")));
  if (ownDir) ownedDirs.add(dataDir);
  const startTimeoutMs = opts.startTimeoutMs ?? 45_000;
  let errText = "";
  let proc!: ChildProcess;
  let port = 0;

  const exited = (p: ChildProcess) =>
    p.exitCode !== null || p.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => p.once("exit", () => resolve()));

  const launch = async (): Promise<void> => {
    const args = [ENTRY, "serve", "--port", "0", "--host", "127.0.0.1", "--data-dir", dataDir, "--workers", String(opts.workers ?? 2), ...(opts.args ?? [])];
    const p = spawn(process.execPath, args, { cwd: ROOT, env: nodeProcessEnv(opts.env), stdio: ["ignore", "pipe", "pipe"] });
    proc = p;
    live.add(p);
    p.once("exit", () => live.delete(p));
    p.stderr!.setEncoding("utf8").on("data", (d: string) => {
      errText = (errText + d).slice(-64 * 1024);
    });
    port = await new Promise<number>((resolve, reject) => {
      let buf = "";
      const fail = (why: string) => {
        clearTimeout(timer);
        p.kill("SIGKILL");
        reject(new Error(`Cannot start Storm (${args.slice(1).join(" ")}): ${why}\n--- stderr ---\n${errText}`));
      };
      const timer = setTimeout(() => fail(`no "listening" line within ${startTimeoutMs} ms`), startTimeoutMs);
      const onExit = (code: number | null, sig: string | null) => fail(`exited early (code ${code}, signal ${sig})`);
      p.once("exit", onExit);
      p.stdout!.setEncoding("utf8").on("data", (d: string) => {
        if (port !== 0) return;
        buf += d;
        for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!line.startsWith("{")) continue;
          try {
            const ev = JSON.parse(line) as { event?: string; port?: number };
            if (ev.event === "listening" && typeof ev.port === "number") {
              clearTimeout(timer);
              p.off("exit", onExit);
              resolve(ev.port);
              return;
            }
          } catch {
            // Not a JSON event line.
          }
        }
      });
    });
  };

  const kill = async (signal: NodeJS.Signals = "SIGKILL") => {
    const p = proc;
    if (p.exitCode !== null || p.signalCode !== null) return;
    const done = exited(p);
    p.kill(signal);
    await done;
  };

  const stopProcess = async () => {
    const p = proc;
    if (p.exitCode !== null || p.signalCode !== null) return;
    const done = exited(p);
    p.kill("SIGTERM");
    const grace = setTimeout(() => p.kill("SIGKILL"), 10_000);
    await done;
    clearTimeout(grace);
  };

  const url = () => `http://127.0.0.1:${port}`;

  const http: StormProcess["http"] = (method, path, o = {}) => httpJson(url() + path, method, o);

  try {
    await launch();
  } catch (err) {
    if (ownDir) {
      ownedDirs.delete(dataDir);
      await rm(dataDir, { recursive: true, force: true });
    }
    throw err;
  }

  return {
    get port() {
      return port;
    },
    get url() {
      return url();
    },
    get wsUrl() {
      return `ws://127.0.0.1:${port}/ws`;
    },
    dataDir,
    get proc() {
      return proc;
    },
    stderr: () => errText,
    kill,
    async restart() {
      await stopProcess();
      port = 0;
      await launch();
    },
    async stop() {
      await stopProcess();
      if (ownDir) {
        ownedDirs.delete(dataDir);
        await rm(dataDir, { recursive: true, force: true });
      }
    },
    http,
    async token(user) {
      const r = await http("POST", "/auth/dev-token", { body: { user } });
      if (r.status !== 200) throw new Error(`Cannot get a dev token for ${user}: ${r.status} ${JSON.stringify(r.body)}`);
      return (r.body as { token: string }).token;
    },
  };
}
