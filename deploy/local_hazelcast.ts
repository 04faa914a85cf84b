import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * A real, throwaway Hazelcast member (open-source jar, Java 17) for tests: a child process on a
 * free port of 127.0.0.1 with a cluster name unique to the call, so parallel runs never join each
 * other. `deploy/hazelcast.sh` downloads the jar once into `$STORM_CACHE/hazelcast` (default
 * `~/.cache/storm/hazelcast`), writes the member config and execs java. About 2 s to start once
 * the jar is cached.
 */
export interface HazelcastMember {
  clusterName: string;
  /** `127.0.0.1:PORT`. */
  address: string;
  /**
   * Stops the member (SIGTERM, SIGKILL after 10 s) and starts it again on the same port and cluster
   * name, as an operator restarting it would: its in-memory maps start empty.
   */
  restart(): Promise<void>;
  /** Kills the member (SIGTERM, SIGKILL after 10 s), waits for it to exit, deletes its files. */
  stop(): Promise<void>;
}

/** Java or the Hazelcast jar is unavailable, or the member did not start. */
export class HazelcastHarnessError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Set `STORM_SKIP_HAZELCAST=1` to skip Hazelcast tests on a machine without Java; otherwise they fail. */
export const skipHazelcast = process.env.STORM_SKIP_HAZELCAST === "1";

/** deploy/hazelcast.sh, found from this file whether it runs from source or from dist/. */
const SCRIPT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return resolve(dir, "deploy/hazelcast.sh");
})();
const START_TIMEOUT_MS = 90_000;

/** Downloads the jar if needed (idempotent) and returns its path. */
export function fetchHazelcastJar(): string {
  const r = spawnSync("bash", [SCRIPT, "fetch"], { encoding: "utf8", timeout: 300_000 });
  if (r.status !== 0) {
    throw new HazelcastHarnessError(
      `Cannot get the Hazelcast jar (deploy/hazelcast.sh fetch, exit ${r.status ?? r.signal}): ${(r.stderr || String(r.error ?? "")).trim()}\n` +
        "It needs Maven (or curl) and access to Maven Central; set STORM_HAZELCAST_JAR to use a local jar, " +
        "or STORM_SKIP_HAZELCAST=1 to skip the Hazelcast tests.",
    );
  }
  return r.stdout.trim().split("\n").at(-1)!;
}

export async function startHazelcast(): Promise<HazelcastMember> {
  const java = spawnSync(process.env.HZ_JAVA ?? "java", ["-version"], { encoding: "utf8" });
  if (java.status !== 0) {
    throw new HazelcastHarnessError(
      "Cannot start Hazelcast: `java -version` failed (Java 17 is needed; set HZ_JAVA to its path), " +
        "or set STORM_SKIP_HAZELCAST=1 to skip the Hazelcast tests.",
    );
  }
  fetchHazelcastJar();

  const dir = await mkdtemp(join(tmpdir(), "storm-hz-"));
  const port = await freePort();
  const clusterName = `storm-test-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const log = join(dir, "member.log");
  let member = await launch(port, clusterName, dir, log).catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  return {
    clusterName,
    address: `127.0.0.1:${port}`,
    async restart() {
      await member.kill();
      member = await launch(port, clusterName, dir, log);
    },
    async stop() {
      await member.kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One run of the member process, ready once its log says `is STARTED` (after `log`'s current end). */
async function launch(port: number, clusterName: string, dir: string, log: string): Promise<{ kill(): Promise<void> }> {
  const from = (await readFile(log, "utf8").catch(() => "")).length;
  const fd = openSync(log, "a");
  let child: ChildProcess;
  try {
    // `run` execs java, so `child` is the member itself. Output goes to a file: no pipe to drain.
    child = spawn("bash", [SCRIPT, "run", "--port", String(port), "--cluster-name", clusterName, "--dir", dir], {
      stdio: ["ignore", fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<void>((res) => {
    child.once("exit", () => res());
    child.once("error", () => res());
  });
  let alive = true;
  void exited.then(() => (alive = false));
  // If the test process ends without calling stop(), do not leave the member behind.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const kill = async () => {
    process.removeListener("exit", killOnExit);
    if (!alive) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const text = (await readFile(log, "utf8").catch(() => "")).slice(from);
    if (text.includes("is STARTED")) return { kill };
    if (!alive || Date.now() > deadline) {
      const why = alive ? `did not start within ${START_TIMEOUT_MS / 1000} s` : `exited (code ${child.exitCode ?? child.signalCode})`;
      await kill();
      throw new HazelcastHarnessError(`Hazelcast member on port ${port} ${why}:\n${text.split("\n").slice(-40).join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}
