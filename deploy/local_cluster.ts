import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { cliOutcome, intValue, parseFlags, str } from "../cli/cli_args.ts";
import { startHazelcast } from "./local_hazelcast.ts";
import { startPostgres } from "./local_postgres.ts";

export interface LocalClusterOptions {
  nodes: number;
  basePort: number;
  workers: number;
  leaseMs: number;
  /** Extra `storm serve` flags for every node. */
  args?: string[];
  log?(line: string): void;
}

export interface ClusterNodeProcess {
  name: string;
  port: number;
  url: string;
  /** The node's current incarnation id, from its `listening` line, then from each `rejoined` line. */
  id: string;
  proc: ChildProcess;
}

export interface LocalCluster {
  postgresUrl: string;
  hazelcast: string;
  clusterName: string;
  secret: string;
  nodes: ClusterNodeProcess[];
  /** Starts node `i` again (after a kill), on its port, with a new incarnation. */
  restart(i: number): Promise<ClusterNodeProcess>;
  /** Restarts the PostgreSQL server on its port and data (`crash`: immediate shutdown, WAL replayed). */
  restartPostgres(opts: { crash: boolean }): Promise<void>;
  /** Restarts the Hazelcast member on its port and cluster name; its maps come back empty. */
  restartHazelcast(): Promise<void>;
  stop(): Promise<void>;
}

const root = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();

/**
 * The environment of a spawned node: this process's, and with `STORM_NODE_COVERAGE=DIR` V8's raw
 * coverage of the node's code written into DIR (`NODE_V8_COVERAGE`) when it exits, which
 * `deploy/quality.sh coverage` adds to the tests' own coverage.
 */
export function nodeProcessEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const dir = process.env["STORM_NODE_COVERAGE"];
  return { ...process.env, ...(dir ? { NODE_V8_COVERAGE: dir } : {}), ...extra };
}

/** `n` consecutive free ports on 127.0.0.1 (checked by binding each): nodes keep their port across restarts. */
export async function freePortRange(n: number): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once("error", () => resolve(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = await free(base + i);
    if (ok) return base;
  }
  throw new Error(`Cannot find ${n} consecutive free ports on 127.0.0.1`);
}

/**
 * A whole cluster on 127.0.0.1: a PostgreSQL server, a Hazelcast member and N Storm nodes on
 * consecutive ports, each a real process. Used by `npm run cluster` and by the cluster tests.
 */
export async function startLocalCluster(o: LocalClusterOptions): Promise<LocalCluster> {
  const log = o.log ?? (() => {});
  const pg = await startPostgres();
  log(`postgresql: ${pg.url}`);
  const hz = await startHazelcast().catch(async (err) => {
    await pg.stop();
    throw err;
  });
  log(`hazelcast member: ${hz.address} (cluster ${hz.clusterName})`);
  const secret = randomBytes(24).toString("hex");
  const dataRoot = await mkdtemp(join(tmpdir(), "storm-cluster-"));
  // Secrets reach the nodes as files, never argv (which any local user reads with ps).
  const secretFile = join(dataRoot, "secret");
  await writeFile(secretFile, `${secret}\n`, { mode: 0o600 });
  const entry = resolve(root, "dist/bin/storm.js");
  if (!existsSync(entry)) throw new Error(`Cannot start nodes: ${entry} is missing (run npm run build)`);

  const startOne = async (i: number): Promise<ClusterNodeProcess> => {
    const port = o.basePort + i;
    const proc = spawn(process.execPath, [entry, "serve",
      "--port", String(port), "--node-id", `n${i + 1}`, "--data-dir", join(dataRoot, `n${i + 1}`),
      "--workers", String(o.workers), "--postgres", pg.url, "--cluster", hz.address,
      "--cluster-name", hz.clusterName, "--cluster-secret-file", secretFile, "--jwt-secret-file", secretFile, "--dev-tokens", "--dev-admin",
      "--lease-ms", String(o.leaseMs), ...(o.args ?? [])], { stdio: ["ignore", "pipe", "pipe"], env: nodeProcessEnv() });
    proc.stderr!.on("data", (d: Buffer) => log(`[n${i + 1}] ${d.toString().trimEnd()}`));
    let node: ClusterNodeProcess | undefined;
    const id = await new Promise<string>((ok, fail) => {
      const lines = createInterface({ input: proc.stdout! });
      lines.on("line", (line) => {
        if (line.includes('"listening"')) ok((JSON.parse(line) as { node: string }).node);
        // A node that lost its lease rejoins as a new incarnation: the process stays, its id changes.
        if (line.includes('"rejoined"') && node) {
          node.id = (JSON.parse(line) as { node: string }).node;
          log(`node n${i + 1} rejoined as ${node.id}`);
        }
      });
      proc.once("exit", (code) => fail(new Error(`node n${i + 1} exited with ${code} before listening`)));
    });
    log(`node n${i + 1}: http://127.0.0.1:${port} (${id})`);
    node = { name: `n${i + 1}`, port, url: `http://127.0.0.1:${port}`, id, proc };
    return node;
  };

  const nodes: ClusterNodeProcess[] = [];
  try {
    for (let i = 0; i < o.nodes; i++) nodes.push(await startOne(i));
  } catch (err) {
    for (const n of nodes) n.proc.kill("SIGKILL");
    await hz.stop();
    await pg.stop();
    throw err;
  }
  const stopNode = (n: ClusterNodeProcess) =>
    new Promise<void>((done) => {
      if (n.proc.exitCode !== null || n.proc.signalCode !== null) return done();
      n.proc.once("exit", () => done());
      n.proc.kill("SIGCONT");
      n.proc.kill("SIGTERM");
      setTimeout(() => n.proc.kill("SIGKILL"), 5_000).unref();
    });
  return {
    postgresUrl: pg.url,
    hazelcast: hz.address,
    clusterName: hz.clusterName,
    secret,
    nodes,
    async restart(i) {
      await stopNode(nodes[i]!);
      nodes[i] = await startOne(i);
      return nodes[i]!;
    },
    restartPostgres: (opts) => pg.restart(opts),
    restartHazelcast: () => hz.restart(),
    async stop() {
      await Promise.all(nodes.map(stopNode));
      await hz.stop();
      await pg.stop();
      await rm(dataRoot, { recursive: true, force: true });
    },
  };
}

const USAGE = `npm run cluster -- [options]: a local Storm cluster on 127.0.0.1 (PostgreSQL, a Hazelcast
member, N nodes with development tokens, admin ones included) until Ctrl-C

  --nodes N      Storm nodes (default 3)
  --port P       first node's port; the others follow (default 8081)
  --workers W    actor threads per node (default 1)
  --lease-ms L   node lease (default 3000)
  --help         print this and exit (starts nothing)
  --version      print the version and exit`;

/** `npm run cluster -- [--nodes 3] [--port 8081]`: runs a local cluster until Ctrl-C. */
async function main(argv: string[]): Promise<void> {
  const parsed = cliOutcome(() => {
    const p = parseFlags(argv, { nodes: { type: "string" }, port: { type: "string" }, workers: { type: "string" }, "lease-ms": { type: "string" } });
    const v = (name: string) => str(p.values, name);
    return {
      ...p,
      nodes: intValue(v("nodes"), "--nodes", 3, 1, 64),
      basePort: intValue(v("port"), "--port", 8081, 1, 65_535),
      workers: intValue(v("workers"), "--workers", 1, 1),
      leaseMs: intValue(v("lease-ms"), "--lease-ms", 3000, 100),
    };
  }, USAGE, "storm cluster");
  if (typeof parsed === "number") process.exit(parsed);
  const cluster = await startLocalCluster({
    nodes: parsed.nodes, basePort: parsed.basePort, workers: parsed.workers, leaseMs: parsed.leaseMs,
    log: (line) => console.log(line),
  });
  console.log(`\ncluster up. Admin token: curl -s -XPOST ${cluster.nodes[0]!.url}/auth/dev-token -d '{"user":"ops","role":"admin"}'`);
  console.log(`inspect:  node dist/bin/storm.js inspect nodes --url ${cluster.nodes[0]!.url}\nCtrl-C stops everything.`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log("stopping the cluster...");
    await cluster.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
