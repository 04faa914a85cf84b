#!/usr/bin/env node
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { cliOutcome, intValue, parseFlags, str, UsageError } from "../../cli/cli_args.ts";
import { checkHistory } from "../checker/check.ts";
import { formatJournal, type Journal } from "../checker/journal.ts";
import { loadHistoryFiles } from "../checker/load.ts";
import { loadJournalFromPostgres } from "../checker/postgres_journal.ts";
import { formatReport } from "../checker/report.ts";
import { freePortRange, type LocalCluster, startLocalCluster } from "../../deploy/local_cluster.ts";
import type { ClientProgress } from "./chaos_client.ts";
import { type ClientFleet, type ClientProcessConfig, startClientProcesses } from "./clients.ts";
import { failoverTimes, longestSilences } from "./failover.ts";
import { FaultInjector } from "./injector.ts";
import { planEndMs, planFaults, planRolling } from "./nemesis.ts";
import { observeCluster } from "./observer.ts";
import { formatSummary, type Lagging, summarize } from "./summary.ts";

export const USAGE = `storm chaos: real nodes, Hazelcast and PostgreSQL under load and faults, then the history checker

  node dist-tools/tools/chaos/run.js [--mode faults|rolling] [--seed N] [--duration S] [--faults N] [--nodes 3] [--channels K]
                         [--clients M] [--lease-ms L] [--out DIR] [--json]
                         [--rate R] [--workers W] [--client-procs P] [--retention-max-count N]

  --mode          faults (default): a schedule of random faults; rolling: a rolling restart, each node in
                  turn drained by SIGTERM (as Kubernetes' preStop does), stopped, started, back before the next
  --seed          seed of the fault schedule (default: random; printed, to replay a run)
  --duration      seconds of load under faults (default 120; the schedule may run a bit longer)
  --faults        faults to inject: kill -9, SIGSTOP past the lease, graceful restart, migrate, drain (default 24)
  --nodes         Storm nodes (default 3); never more than a minority down at once
  --channels      channels (default 4)
  --clients       clients, each one WebSocket that subscribes to every channel and publishes (default 6)
  --lease-ms      node lease (default 2000); pauses last longer than it
  --rate          new publishes per second per client (default 5)
  --workers       actor threads per node (default 1)
  --client-procs  processes the clients are spread over (default 2)
  --retention-max-count  nodes keep at most N messages per channel (\`storm serve --retention-max-count\`;
                  default 0: no retention); the checker takes the trimmed prefixes as trims, not gaps
  --out           directory for histories, journal, fault log, node logs, report (default: a new temp dir)
  --json          print the summary as JSON on stdout (progress goes to stderr either way)
  --help          print this and exit (starts nothing); --version prints the version

Exit status: 0 pass; 1 a violation of the contract, a fault not injected, no ack at all, or once the
cluster is healed a publish never acked or a subscriber that never caught up, or a paused node that
did not rejoin in place; 2 the run itself failed (bad arguments, a node that does not start again).

  npm run chaos:ci                                   # the CI run: seed 1, 24 faults, 120 s
  npm run chaos -- --faults 120 --duration 600       # the long run
  npm run chaos -- --mode rolling --duration 30      # a rolling restart under load (CI)`;

export interface RunOptions {
  mode: "faults" | "rolling";
  seed: number;
  durationS: number;
  faults: number;
  nodes: number;
  channels: number;
  clients: number;
  leaseMs: number;
  rate: number;
  workers: number;
  clientProcs: number;
  /** 0: no retention. */
  retentionMaxCount: number;
  out: string | undefined;
  json: boolean;
}

const INT_FLAGS: Record<string, [keyof RunOptions, number]> = {
  seed: ["seed", 0], duration: ["durationS", 1], faults: ["faults", 0], nodes: ["nodes", 2], channels: ["channels", 1],
  clients: ["clients", 1], "lease-ms": ["leaseMs", 500], rate: ["rate", 0], workers: ["workers", 1], "client-procs": ["clientProcs", 1],
  "retention-max-count": ["retentionMaxCount", 0],
};

/**
 * Reads the chaos runner's flags with the strict parser every Storm command uses.
 * @throws {UsageError} `Cannot parse arguments: ...`
 */
export function parseArgs(argv: readonly string[]): RunOptions & { help: boolean; version: boolean } {
  const p = parseFlags(argv, { ...Object.fromEntries(Object.keys(INT_FLAGS).map((k) => [k, { type: "string" as const }])), out: { type: "string" }, json: { type: "boolean" }, mode: { type: "string" } });
  const mode = str(p.values, "mode") ?? "faults";
  if (mode !== "faults" && mode !== "rolling") throw new UsageError(`Cannot read --mode: "${mode.slice(0, 20)}" is not faults or rolling`);
  const o: RunOptions = {
    mode,
    seed: Math.floor(Math.random() * 1_000_000), durationS: 120, faults: 24, nodes: 3, channels: 4, clients: 6, leaseMs: 2_000,
    rate: 5, workers: 1, clientProcs: 2, retentionMaxCount: 0, out: str(p.values, "out"), json: p.values["json"] === true,
  };
  for (const [flag, [key, min]] of Object.entries(INT_FLAGS)) {
    (o as unknown as Record<string, number>)[key] = intValue(str(p.values, flag), `--${flag}`, o[key] as number, min);
  }
  o.clientProcs = Math.min(o.clientProcs, o.clients);
  // A rolling restart is one graceful restart per node.
  if (o.mode === "rolling") o.faults = o.nodes;
  return { ...o, help: p.help, version: p.version };
}

/** Bounds of the end of a run. */
const DRAIN_ACKS_MS = 20_000;
const DRAIN_DELIVERIES_MS = 20_000;

/** Runs the chaos suite once; returns the exit status. */
export async function runChaos(o: RunOptions): Promise<number> {
  const started = Date.now();
  const out = resolve(o.out ?? join(tmpdir(), `storm-chaos-seed${o.seed}-${new Date(started).toISOString().replace(/[:.]/g, "-")}`));
  // Clients append to their history files: a previous run's histories in the same directory would
  // be checked against this run's journal (found the hard way: 1,168 false violations).
  await rm(join(out, "histories"), { recursive: true, force: true });
  await mkdir(join(out, "histories"), { recursive: true });
  const runLog = createWriteStream(join(out, "run.log"));
  const clusterLog = createWriteStream(join(out, "cluster.log"));
  const faultLog = createWriteStream(join(out, "faults.jsonl"));
  const clientLog = createWriteStream(join(out, "clients.log"));
  const observations = createWriteStream(join(out, "observations.jsonl"));
  const log = (line: string) => {
    const stamped = `[chaos +${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`;
    process.stderr.write(`${stamped}\n`);
    runLog.write(`${stamped}\n`);
  };

  let cluster: LocalCluster | undefined;
  let starting: Promise<LocalCluster> | undefined;
  let fleet: ClientFleet | undefined;
  let injector: FaultInjector | undefined;
  let aborted = false;
  let tearing: Promise<void> | undefined;
  const teardown = () => (tearing ??= tearDown());
  const tearDown = async () => {
    fleet?.kill();
    await injector?.close(30_000);
    // Interrupted while the cluster was starting: let it come up (or fail and clean up), then stop it.
    if (!cluster && starting) cluster = await starting.catch(() => undefined);
    starting = undefined;
    if (cluster) {
      const c = cluster;
      cluster = undefined;
      await c.stop().catch((err: unknown) => log(`cluster stop failed: ${String(err)}`));
      // A node left running by a failed stop must not outlive the run.
      for (const n of c.nodes) if (n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill("SIGKILL");
    }
  };
  const onSignal = (sig: string) => {
    if (aborted) return;
    aborted = true;
    log(`${sig}: tearing the cluster down`);
    void teardown().finally(() => process.exit(130));
  };
  const onCrash = (err: unknown) => {
    log(`crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    aborted = true;
    void teardown().finally(() => process.exit(2));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("uncaughtException", onCrash);
  process.on("unhandledRejection", onCrash);

  try {
    log(`seed ${o.seed}: ${o.nodes} nodes, ${o.channels} channels, ${o.clients} clients, ${o.faults} faults over ${o.durationS} s; kept in ${out}`);
    const basePort = await freePortRange(o.nodes);
    starting = startLocalCluster({
      nodes: o.nodes, basePort, workers: o.workers, leaseMs: o.leaseMs,
      args: o.retentionMaxCount > 0 ? ["--retention-max-count", String(o.retentionMaxCount)] : undefined,
      log: (line) => clusterLog.write(`${new Date().toISOString()} ${line}\n`),
    });
    const up = await starting;
    if (aborted) return 130;
    cluster = up;
    starting = undefined;
    log(`cluster up: ${cluster.nodes.map((n) => `${n.name} ${n.url}`).join(", ")}; PostgreSQL ${cluster.postgresUrl}`);
    const base = cluster.nodes[0]!.url;
    const channels = Array.from({ length: o.channels }, (_, i) => `chaos${i}`);
    const adminToken = await devToken(base, "ops", "admin");
    const owner = await devToken(base, "chaos-owner");
    for (const ch of channels) await rest(base, owner, "POST", "/channels", { name: ch });
    const specs = await Promise.all(Array.from({ length: o.clients }, async (_, i) => {
      const name = `c${i + 1}`;
      const token = await devToken(base, name);
      for (const ch of channels) await rest(base, token, "POST", `/channels/${ch}/members`, { user: name });
      return { name, token };
    }));

    const plan = o.mode === "rolling"
      ? planRolling({ nodes: o.nodes })
      : planFaults({ seed: o.seed, faults: o.faults, durationMs: o.durationS * 1000, nodes: o.nodes, channels: o.channels, leaseMs: o.leaseMs });
    await writeFile(join(out, "plan.json"), `${JSON.stringify(plan, null, 1)}\n`);
    log(`plan: ${plan.length} faults, last one over at ${(planEndMs(plan) / 1000).toFixed(1)} s`);

    const urls = cluster.nodes.map((n) => `ws://127.0.0.1:${n.port}/ws`);
    const configs: ClientProcessConfig[] = Array.from({ length: o.clientProcs }, (_, p) => ({
      clients: specs.filter((_, i) => i % o.clientProcs === p), urls, channels, ratePerSec: o.rate, window: 8,
      pubTimeoutMs: 5_000, staleMs: 3_000, file: join(out, "histories", `clients-${p}.jsonl`),
    }));
    fleet = startClientProcesses(configs, (line) => clientLog.write(`${new Date().toISOString()} ${line}\n`));
    const f = fleet;
    await waitFor(() => f.progress().length === o.clients && f.progress().every((c) => c.delivered > 0 || c.acked > 0), 20_000);

    injector = new FaultInjector({
      cluster, channels, adminToken, log,
      record: (item) => faultLog.write(`${JSON.stringify(item)}\n`),
    });
    const inj = injector;
    const stopObserving = observeCluster({ cluster, adminToken, up: () => inj.upNodes(), out: observations, everyMs: 2_000 });
    const phaseStart = Date.now();
    const status = setInterval(() => log(statusLine(f.progress(), inj, o)), 10_000);
    await inj.run(plan, phaseStart, () => aborted);
    while (Date.now() < phaseStart + o.durationS * 1000 && !aborted && !inj.fatal) await sleep(200);
    const faultPhaseMs = Date.now() - phaseStart;
    log(`nemesis done after ${(faultPhaseMs / 1000).toFixed(1)} s; healing`);
    await inj.heal();
    if (inj.fatal) throw inj.fatal;
    if (aborted) return 130;

    // Drain: publishes still unacked are retried until acked, then every subscriber must reach
    // every channel's last acked seq. Both waits are bounded.
    const drainStart = Date.now();
    await Promise.race([f.stopPublishing(), sleep(5_000)]);
    await waitFor(() => f.progress().every((c) => c.outstanding === 0), DRAIN_ACKS_MS);
    await waitFor(() => lagging(f.progress()).length === 0, DRAIN_DELIVERIES_MS);
    const drainMs = Date.now() - drainStart;
    clearInterval(status);
    stopObserving();
    const behind = lagging(f.progress());
    const unackedAtEnd = f.progress().reduce((n, c) => n + c.outstanding, 0);
    log(`drain: ${unackedAtEnd} publish(es) unacked, ${behind.length} subscription(s) behind after ${drainMs} ms`);
    const final = await f.finish(15_000);
    log(statusLine(final, inj, o));

    const journal: Journal = await loadJournalFromPostgres(cluster.postgresUrl, { channels });
    await writeFile(join(out, "journal.jsonl"), formatJournal(journal));
    await teardown();
    log("cluster stopped; checking the histories");

    const events = await loadHistoryFiles([join(out, "histories")]);
    const check = checkHistory(events, journal, { channels });
    await writeFile(join(out, "report.txt"), `${formatReport(check)}\n`);
    const summary = summarize({
      seed: o.seed, nodes: o.nodes, channels: o.channels, clients: o.clients, leaseMs: o.leaseMs, requestedFaults: o.faults,
      elapsedMs: Date.now() - started, faultPhaseMs, injected: inj.injected, anomalies: inj.anomalies,
      failover: failoverTimes(inj.injected.filter((x) => x.ok), events, journal.rows), check, lagging: behind, drainMs, unackedAtEnd, out,
      silences: longestSilences(channels, journal.rows, phaseStart, drainStart + drainMs),
    });
    await writeFile(join(out, "summary.json"), `${JSON.stringify(summary, null, 1)}\n`);
    if (o.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      process.stdout.write(`${formatSummary(summary)}\n`);
      if (check.violations.length > 0) {
        const report = formatReport({ ...check, violations: check.violations.slice(0, 20) }).split("\n").slice(3).join("\n");
        process.stdout.write(`\nviolations (first ${Math.min(20, check.violations.length)}; all in ${join(out, "report.txt")}):${report}\n`);
      }
    }
    return summary.ok ? 0 : 1;
  } catch (err) {
    log(`the run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 2;
  } finally {
    await teardown();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("uncaughtException", onCrash);
    process.off("unhandledRejection", onCrash);
    await Promise.all([runLog, clusterLog, faultLog, clientLog, observations].map(closeStream));
  }
}

/**
 * Subscriptions behind their channel's greatest acked seq. A client follows the channels of its
 * `lastSeq` (every channel in a chaos run; its group's in a Storm Day).
 */
export function lagging(progress: readonly ClientProgress[]): Lagging[] {
  const target = new Map<string, number>();
  for (const c of progress) for (const [ch, seq] of Object.entries(c.maxAck)) target.set(ch, Math.max(target.get(ch) ?? 0, seq));
  const out: Lagging[] = [];
  for (const c of progress) {
    for (const [ch, seq] of target) {
      if (!(ch in c.lastSeq)) continue;
      const last = c.lastSeq[ch]!;
      if (last < seq) out.push({ client: c.name, ch, lastSeq: last, target: seq });
    }
  }
  return out;
}

function statusLine(progress: readonly ClientProgress[], inj: FaultInjector, o: RunOptions): string {
  const sum = (k: "published" | "acked" | "delivered" | "outstanding" | "connections") => progress.reduce((s, c) => s + c[k], 0);
  const up = Array.from({ length: o.nodes }, (_, i) => (inj.upNodes().includes(i) ? `n${i + 1}` : "--")).join(" ");
  return `faults ${inj.injected.filter((x) => x.ok).length}/${o.faults}, nodes [${up}], published ${sum("published")}, acked ${sum("acked")}, ` +
    `delivered ${sum("delivered")}, unacked ${sum("outstanding")}, connections ${sum("connections")}`;
}

async function devToken(base: string, user: string, role?: "admin"): Promise<string> {
  return ((await rest(base, undefined, "POST", "/auth/dev-token", { user, ...(role ? { role } : {}) })) as { token: string }).token;
}

async function rest(base: string, token: string | undefined, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`Cannot ${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) return false;
    await sleep(100);
  }
  return true;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function closeStream(s: WriteStream): Promise<void> {
  return new Promise((r) => s.end(() => r()));
}

async function main(argv: string[]): Promise<void> {
  const opts = cliOutcome(() => parseArgs(argv), USAGE, "storm chaos");
  if (typeof opts === "number") process.exit(opts);
  process.exit(await runChaos(opts));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
