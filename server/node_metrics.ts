import type { EdgeMetrics } from "../edge/edge_metrics.ts";
import { Counter, gaugeText, type Histogram } from "../lib/metrics.ts";
import { commitStatsText, type CommitStatsSnapshot, sumCommitStats } from "../storage/commit_stats.ts";
import type { WorkerControl } from "./worker_control.ts";

/** Upper bounds of `storm_failover_seconds`. */
export const FAILOVER_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30] as const;

type WorkerStats = ReturnType<WorkerControl["stats"]>;

/** What a node's `GET /metrics` is rendered from, read at scrape time. */
export interface NodeMetricsSources {
  workers: readonly WorkerStats[];
  /** The storage thread's group commit (embedded store). */
  storageCommits: CommitStatsSnapshot | undefined;
  /**
   * Open connections by transport. The family is labelled only: `sum(storm_connections)` is the
   * node's total. A transport adds one entry here.
   */
  connections: Readonly<Record<string, number>>;
  channels: number;
  edge: EdgeMetrics;
  activations: number;
  /** Cluster mode; zero in embedded mode, so every name is exported by every node. */
  leaseRenewals: number;
  /** Leases lost (the node dropped its actors) and leases taken again as a new incarnation. */
  leaseLosses: number;
  rejoins: number;
  failovers: number;
  failoverSeconds: Histogram;
  memory: NodeJS.MemoryUsage;
}

/** The node's Prometheus text: gauges, the edge's KPIs, the runtime's and cluster's counters, the journal's group commit. */
export function nodeMetricsText(s: NodeMetricsSources): string {
  const commits = sumCommitStats([...s.workers.flatMap((st) => (st.commits ? [st.commits] : [])), ...(s.storageCommits ? [s.storageCommits] : [])]);
  const counter = (name: string, help: string, v: number) => Object.assign(new Counter(name, help), { value: v }).render();
  const byThread = (main: number, pick: (w: WorkerStats) => number) =>
    [[{ thread: "main" }, main] as const, ...s.workers.map((w, i) => [{ thread: `worker${i}` }, pick(w)] as const)];
  return [
    gaugeText("storm_connections", "client connections open on this node, by transport", Object.entries(s.connections).map(([transport, n]) => [{ transport }, n] as const)),
    gaugeText("storm_channels", "channels with local subscribers", s.channels),
    gaugeText("storm_actors", "actor activations on this node's workers", s.workers.reduce((a, w) => a + w.actors, 0)),
    gaugeText("storm_rss_bytes", "resident set size of the node process", s.memory.rss),
    gaugeText("storm_heap_used_bytes", "V8 heap used, by thread", byThread(s.memory.heapUsed, (w) => w.memory)),
    gaugeText("storm_heap_committed_bytes", "V8 heap committed, by thread", byThread(s.memory.heapTotal, (w) => w.heapTotal)),
    gaugeText("storm_external_bytes", "memory of the main thread's Buffers and other V8-external objects", s.memory.external),
    s.edge.render(),
    counter("storm_activations_total", "actor activations started on this node (first message, restart, takeover, migration)", s.activations),
    counter("storm_lease_renewals_total", "successful renewals of this node's cluster lease", s.leaseRenewals),
    counter("storm_lease_lost_total", "times this node lost its cluster lease and dropped every actor (it then rejoins as a new incarnation)", s.leaseLosses),
    counter("storm_rejoins_total", "times this node took a cluster lease again as a new incarnation after losing one", s.rejoins),
    counter("storm_failovers_total", "actors this node took over from nodes whose lease was gone", s.failovers),
    s.failoverSeconds.render(),
    commitStatsText(commits),
  ].join("");
}
