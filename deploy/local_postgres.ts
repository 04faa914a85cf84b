import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chown, mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

/**
 * A real, throwaway PostgreSQL server for tests: its own cluster in a fresh temp dir, on a free
 * port of 127.0.0.1, with `fsync=on` because durability is what the storage tests check. About
 * 1 s to start. Binaries come from `STORM_PG_BINDIR`, else the newest
 * `/usr/lib/postgresql/<v>/bin`, else `pg_config --bindir`; `deploy/install_postgres.sh`
 * installs them. As root, the server runs as `postgres` (or `nobody`), since initdb refuses root.
 */
export interface PostgresServer {
  /** Connection URL of an empty database, as superuser `storm`. */
  url: string;
  /**
   * Stops the server and starts it again on the same port and data. `crash: true` uses an
   * immediate shutdown, as a power cut would: no checkpoint, the restart replays the WAL.
   */
  restart(opts: { crash: boolean }): Promise<void>;
  /** Stops the server (fast shutdown) and deletes its files. */
  stop(): Promise<void>;
}

/** The PostgreSQL server binaries are missing, or the server did not start. */
export class PostgresHarnessError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Set `STORM_SKIP_PG=1` to skip PostgreSQL tests on a machine without it; otherwise they fail. */
export const skipPostgres = process.env.STORM_SKIP_PG === "1";

export interface StartPostgresOptions {
  /** More server settings (`name=value`), after the harness's own; e.g. `max_wal_size=4GB`. */
  settings?: readonly string[];
}

export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PostgresServer> {
  const bindir = findBindir();
  const user = process.getuid?.() === 0 ? unprivilegedUser() : undefined;
  const dir = await mkdtemp(join(tmpdir(), "storm-pg-"));
  const data = join(dir, "data");
  try {
    if (user) await chown(dir, user.uid, user.gid);
    await run(bindir, "initdb", ["--no-sync", "-A", "trust", "-U", "storm", "-E", "UTF8", "--no-locale", "-D", data], dir, user);
    const port = await freePort();
    const settings = [
      "-c listen_addresses=127.0.0.1",
      `-c port=${port}`,
      `-c unix_socket_directories=${dir}`,
      "-c fsync=on",
      "-c max_connections=100",
      ...(opts.settings ?? []).map((s) => `-c ${s}`),
    ].join(" ");
    const log = join(dir, "server.log");
    const start = () =>
      run(bindir, "pg_ctl", ["start", "-w", "-t", "30", "-D", data, "-l", log, "-o", settings], dir, user).catch(async (err: unknown) => {
        const text = await readFile(log, "utf8").catch(() => "(no server log)");
        throw new PostgresHarnessError(`Cannot start PostgreSQL on port ${port}:\n${text}`, { cause: err });
      });
    const stop = (mode: "fast" | "immediate") => run(bindir, "pg_ctl", ["stop", "-m", mode, "-w", "-D", data], dir, user);
    await start();
    const admin = new pg.Client({ connectionString: `postgresql://storm@127.0.0.1:${port}/postgres` });
    await admin.connect();
    await admin.query("CREATE DATABASE storm");
    await admin.end();
    return {
      url: `postgresql://storm@127.0.0.1:${port}/storm`,
      restart: async ({ crash }) => {
        await stop(crash ? "immediate" : "fast");
        await start();
      },
      stop: async () => {
        await stop("fast");
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await run(bindir, "pg_ctl", ["stop", "-m", "immediate", "-D", data], dir, user).catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function findBindir(): string {
  const candidates: string[] = [];
  if (process.env.STORM_PG_BINDIR) candidates.push(process.env.STORM_PG_BINDIR);
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => join(root, v, "bin")));
  }
  const pgConfig = spawnSync("pg_config", ["--bindir"], { encoding: "utf8" });
  if (pgConfig.status === 0) candidates.push(pgConfig.stdout.trim());
  const found = candidates.find((dir) => existsSync(join(dir, "postgres")) && existsSync(join(dir, "initdb")));
  if (found) return found;
  throw new PostgresHarnessError(
    "Cannot start PostgreSQL: no server binaries (initdb, postgres) in STORM_PG_BINDIR, " +
      "/usr/lib/postgresql/*/bin or `pg_config --bindir`. Run deploy/install_postgres.sh as root, " +
      "or set STORM_SKIP_PG=1 to skip the PostgreSQL tests.",
  );
}

interface User {
  name: string;
  uid: number;
  gid: number;
}

function unprivilegedUser(): User {
  for (const name of ["postgres", "nobody"]) {
    const uid = spawnSync("id", ["-u", name], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", name], { encoding: "utf8" });
    if (uid.status === 0 && gid.status === 0) return { name, uid: Number(uid.stdout), gid: Number(gid.stdout) };
  }
  throw new PostgresHarnessError("Cannot start PostgreSQL as root: neither user postgres nor nobody exists");
}

/**
 * Runs a PostgreSQL tool (as `user` via runuser when given) and resolves when it exits with 0.
 * Waits for "exit", not "close": the server that `pg_ctl start` leaves behind may hold stdio.
 */
function run(bindir: string, tool: string, args: string[], cwd: string, user: User | undefined): Promise<void> {
  const bin = join(bindir, tool);
  const [cmd, argv] = user ? ["runuser", ["-u", user.name, "--", bin, ...args]] : [bin, args];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code === 0) resolve();
      else reject(new PostgresHarnessError(`Cannot run ${tool} (exit ${code}): ${output.trim()}`));
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}
