import { httpJson } from "./http.ts";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { checkHistory, type CheckResult } from "../../tools/checker/check.ts";
import { loadJournalFromPostgres } from "../../tools/checker/postgres_journal.ts";
import { formatJournal, type Journal } from "../../tools/checker/journal.ts";
import { freePortRange, type LocalCluster, startLocalCluster } from "../../deploy/local_cluster.ts";
import type { Placement } from "../../runtime/core/registry.ts";
import { History } from "./recording_clients.ts";
import { until } from "./until.ts";

export { until };

/**
 * A real local cluster for the cluster tests (PostgreSQL, a Hazelcast member, N `storm serve`
 * processes, one worker each), with the operator routes, membership waits and the history check
 * every cluster test needs. Every node process is SIGKILLed if the test process exits without
 * `stop()` (PostgreSQL and Hazelcast have their own guards in the deploy tooling).
 */
export interface TestCluster {
  readonly c: LocalCluster;
  readonly leaseMs: number;
  readonly history: History;
  /** Node `i`'s current process (a restart replaces it). */
  node(i: number): LocalCluster["nodes"][number];
  wsUrl(i: number): string;
  /** Indexes of nodes whose process runs (not exited); a stopped (SIGSTOP) process counts as running. */
  running(): number[];
  adminToken(): Promise<string>;
  token(user: string, via?: number): Promise<string>;
  http(i: number, method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: any }>;
  placement(ch: string, via?: number): Promise<Placement | undefined>;
  /**
   * The placement once its activation recorded its epoch: a router claims a placement with epoch 0
   * and the activated actor records its epoch asynchronously, so right after a first request the
   * inspector may still show epoch 0.
   */
  activePlacement(ch: string, via?: number): Promise<Placement>;
  /** Index of the node whose current incarnation id is `id` (-1: none, e.g. a dead incarnation). */
  indexOf(id: string): number;
  /** Waits until every running node lists exactly the running nodes' current incarnations as live. */
  waitForMembership(timeoutMs?: number): Promise<void>;
  /** SIGSTOP / SIGCONT of node `i` (heal() restarts a node left paused). */
  pause(i: number): void;
  resume(i: number): void;
  /** Restarts every node that exited or was left paused, then waits for membership. */
  heal(): Promise<void>;
  createChannel(owner: string, name: string, via?: number): Promise<void>;
  /** The history checker over the recorded events and the committed PostgreSQL journal of `channels`. */
  check(channels: string[]): Promise<CheckResult & { journal: Journal }>;
  /** Node log lines (stderr of every node, `[nX] ...`), newest last. */
  logs(): string[];
  stop(): Promise<void>;
}

const liveClusters = new Set<LocalCluster>();
let hookInstalled = false;

function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  const killAll = () => {
    for (const c of liveClusters) for (const n of c.nodes) n.proc.kill("SIGKILL");
  };
  process.on("exit", killAll);
  if (process.send) process.once("disconnect", killAll);
}

export async function startTestCluster(o: { nodes: number; leaseMs: number; args?: string[] }): Promise<TestCluster> {
  installExitHook();
  const lines: string[] = [];
  const c = await startLocalCluster({
    nodes: o.nodes,
    basePort: await freePortRange(o.nodes),
    workers: 1,
    leaseMs: o.leaseMs,
    args: o.args,
    log: (line) => {
      lines.push(line);
      if (lines.length > 2_000) lines.splice(0, lines.length - 1_000);
    },
  });
  liveClusters.add(c);
  const history = new History();
  const tokens = new Map<string, string>();
  const paused = new Set<number>();

  const http: TestCluster["http"] = (i, method, path, token, body) => httpJson(c.nodes[i]!.url + path, method, { token, body });
  const running = () => c.nodes.map((n, i) => [n, i] as const).filter(([n]) => n.proc.exitCode === null && n.proc.signalCode === null).map(([, i]) => i);
  const token = async (user: string, via = running()[0]!) => {
    const key = user === "\u0000admin" ? user : `u:${user}`;
    const cached = tokens.get(key);
    if (cached) return cached;
    const body = user === "\u0000admin" ? { user: "ops", role: "admin" } : { user };
    const r = await http(via, "POST", "/auth/dev-token", undefined, body);
    if (r.status !== 200) throw new Error(`Cannot get a dev token for ${user}: ${r.status} ${JSON.stringify(r.body)}`);
    tokens.set(key, r.body.token as string);
    return r.body.token as string;
  };
  const adminToken = () => token("\u0000admin");

  const t: TestCluster = {
    c,
    leaseMs: o.leaseMs,
    history,
    node: (i) => c.nodes[i]!,
    wsUrl: (i) => `ws://127.0.0.1:${c.nodes[i]!.port}/ws`,
    running,
    adminToken,
    token,
    http,
    async placement(ch, via = running()[0]!) {
      const r = await http(via, "GET", `/admin/placements?prefix=${encodeURIComponent(`channel:${ch}`)}`, await adminToken());
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return (r.body.placements as Array<{ id: string; placement: Placement }>).find((p) => p.id === `channel:${ch}`)?.placement;
    },
    async activePlacement(ch, via) {
      let p: Placement | undefined;
      await until(async () => ((p = await t.placement(ch, via)) !== undefined && p.epoch >= 1), 10_000, `an activated placement of ${ch}`);
      return p!;
    },
    indexOf: (id) => c.nodes.findIndex((n) => n.id === id),
    async waitForMembership(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last = "";
      for (;;) {
        const live = running();
        const want = live.map((i) => c.nodes[i]!.id).sort();
        const seen = await Promise.all(live.map(async (i) => {
          const r = await http(i, "GET", "/admin/nodes", await adminToken()).catch((e: Error) => ({ status: 0, body: e.message }));
          return r.status === 200 ? (r.body.nodes as Array<{ node: string }>).map((n) => n.node).sort() : [`error ${r.status}: ${JSON.stringify(r.body)}`];
        }));
        if (seen.every((s) => JSON.stringify(s) === JSON.stringify(want))) return;
        last = JSON.stringify({ want, seen });
        if (Date.now() > deadline) throw new Error(`Membership did not settle within ${timeoutMs} ms: ${last}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    pause(i) {
      paused.add(i);
      c.nodes[i]!.proc.kill("SIGSTOP");
    },
    resume(i) {
      c.nodes[i]!.proc.kill("SIGCONT");
      paused.delete(i);
    },
    async heal() {
      for (let i = 0; i < c.nodes.length; i++) {
        const p = c.nodes[i]!.proc;
        if (p.exitCode === null && p.signalCode === null && !paused.has(i)) continue;
        paused.delete(i);
        await c.restart(i);
      }
      await t.waitForMembership();
    },
    async createChannel(owner, name, via = running()[0]!) {
      const r = await http(via, "POST", "/channels", await token(owner), { name });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    },
    async check(channels) {
      const journal = await loadJournalFromPostgres(c.postgresUrl, { channels });
      const result = checkHistory(history.events.filter((e) => channels.includes(e.ch)), journal, { channels });
      const text = result.violations.map((v) => `${v.kind} on ${v.ch}: ${v.message} | evidence ${JSON.stringify(v.evidence).slice(0, 400)}`);
      let kept = "";
      if (text.length > 0) {
        // Keep the evidence: `storm-check --history <dir>/history.jsonl --journal <dir>/journal.jsonl` replays the check.
        const dir = await mkdtemp(join(tmpdir(), "storm-cluster-evidence-"));
        const events = history.events.filter((e) => channels.includes(e.ch)).map((e) => `${JSON.stringify(e)}\n`).join("");
        await writeFile(join(dir, "history.jsonl"), events);
        await writeFile(join(dir, "journal.jsonl"), formatJournal(journal));
        await writeFile(join(dir, "nodes.log"), lines.join("\n"));
        kept = ` (history, journal and node logs kept in ${dir})`;
      }
      expect(text, `history checker found ${text.length} violation(s)${kept}`).toEqual([]);
      // Not a vacuous pass: the history and the journal both hold the run.
      expect(result.stats.acked).toBeGreaterThan(0);
      expect(result.stats.delivered).toBeGreaterThan(0);
      expect(result.stats.journalRows).toBeGreaterThanOrEqual(result.stats.acked);
      return { ...result, journal };
    },
    logs: () => [...lines],
    async stop() {
      try {
        await c.stop();
      } finally {
        for (const n of c.nodes) n.proc.kill("SIGKILL");
        liveClusters.delete(c);
      }
    },
  };
  return t;
}

export const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/** One JSON line a run's report can pick up: `{"metric":"failover_ms",...}`. */
export function metric(name: string, value: number, extra: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ metric: name, value, ...extra }));
}
