import "reflect-metadata";
import { type Remote, wrap } from "comlink";
import nodeEndpoint from "comlink/dist/esm/node-adapter.mjs";
import { mkdir } from "node:fs/promises";
import { MessageChannel } from "node:worker_threads";
import { container } from "tsyringe";
import type { EdgeEvent } from "../actors/messages.ts";
import { actorsWireCodec } from "../actors/wire_codec.ts";
import { Authenticator } from "../edge/auth.ts";
import { EdgeServer } from "../edge/edge_server.ts";
import type { ActorGateway } from "../edge/gateway.ts";
import { HttpApi } from "../edge/http_api.ts";
import { buildOpenApi } from "../edge/openapi.ts";
import { EdgeMetrics } from "../edge/edge_metrics.ts";
import { Logger } from "../lib/logger.ts";
import { Histogram } from "../lib/metrics.ts";
import type { NodeConfig } from "./config.ts";
import { ActorSystem } from "../runtime/core/actor_system.ts";
import { MemoryRegistry } from "../runtime/core/memory_registry.ts";
import { hashPlacement } from "../runtime/core/placement.ts";
import type { Placement, Registry } from "../runtime/core/registry.ts";
import { type ClusterParts, joinCluster } from "./cluster_node.ts";
import { nodePlatform, turnEnd } from "../runtime/platform/node_platform.ts";
import { systemClock } from "../runtime/platform/system_clock.ts";
import { embeddedBackend, loadSecret, postgresBackend, snapshotDirectory } from "./storage_backend.ts";
import { FAILOVER_BUCKETS, nodeMetricsText } from "./node_metrics.ts";
import type { WorkerBoot, WorkerControl } from "./worker_control.ts";

export interface RunningNode {
  /** This process's node id; in a cluster, unique per start (`<node-id>.<start time>`). */
  id: string;
  port: number;
  system: ActorSystem;
  edge: EdgeServer;
  controls: Array<Remote<WorkerControl>>;
  stop(): Promise<void>;
}

export interface NodeHooks {
  /** The node lost its cluster lease and stopped its actors; the process should exit. */
  onLeaseLost?(reason: string): void;
}

const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

/**
 * The composition root of a node process: the only place that picks concrete backends (PGlite or
 * PostgreSQL; the in-process or the Hazelcast registry) and wires them into the core via tsyringe.
 */
export async function startNode(cfg: NodeConfig, hooks: NodeHooks = {}): Promise<RunningNode> {
  if (cfg.cluster && !cfg.postgresUrl) throw new Error("Cannot join a cluster without --postgres: PostgreSQL is the arbiter of ownership");
  await mkdir(cfg.dataDir, { recursive: true });
  const id = cfg.cluster ? `${cfg.nodeId}.${Date.now().toString(36)}` : cfg.nodeId;
  const logger = new Logger({ node: id }, cfg.logLevel, (line) => process.stderr.write(`${line}\n`));
  const log = logger.report;
  const counters = new EdgeMetrics(systemClock);
  const failoverSeconds = new Histogram(
    "storm_failover_seconds",
    "from this node seeing a dead node's lease gone to an actor it took over answering its first message (activated, epoch fenced)",
    FAILOVER_BUCKETS,
  );
  const c = container.createChildContainer();
  const secret = await loadSecret(cfg);
  c.register(Authenticator, { useValue: new Authenticator(secret.key) });
  const storage = cfg.postgresUrl ? await postgresBackend(cfg) : await embeddedBackend(cfg);
  const cluster = cfg.cluster ? await joinCluster(cfg, id, log) : undefined;
  c.register<Registry>("Registry", { useValue: cluster?.registry ?? new MemoryRegistry(systemClock) });

  let edge: EdgeServer | undefined;
  const controls: Array<Remote<WorkerControl>> = [];
  const system = new ActorSystem({
    nodeId: id,
    platform: nodePlatform,
    clock: systemClock,
    workers: cfg.workers,
    workerEntry: new URL(`./worker_main${ext}`, import.meta.url).href,
    workerData: (index) => {
      const control = new MessageChannel();
      controls[index] = wrap<WorkerControl>(nodeEndpoint(control.port1 as never));
      const store = storage.workerStore(index);
      const boot: WorkerBoot = { nodeId: id, index, store: store.boot, control: control.port2, idlePassivateMs: cfg.idlePassivateMs, historySize: cfg.historySize, logLevel: cfg.logLevel };
      return { data: boot, transfer: [control.port2, ...store.transfer] };
    },
    placement: hashPlacement,
    registry: c.resolve<Registry>("Registry"),
    askTimeoutMs: cfg.askTimeoutMs,
    onEdgeEvent: (ev) => edge?.onEvent(ev as EdgeEvent),
    outbound: cluster ? (to, msg) => cluster.router().tell(to, msg) : undefined,
    log,
    codec: actorsWireCodec,
  });
  system.start();

  const onPlacement = (actor: string, p: Placement | null) => {
    if (p && p.epoch > 0 && actor.startsWith("channel:")) edge?.placementChanged(actor.slice("channel:".length), p.epoch);
  };
  let parts: ClusterParts | undefined;
  if (cluster) {
    parts = cluster.wire({
      system, onEdgeEvent: (ev) => edge?.onEvent(ev as EdgeEvent), onPlacement, onTakenOver: (_id, ms) => failoverSeconds.observe(ms / 1000),
    });
  }
  const stopWatch = parts ? undefined : await c.resolve<Registry>("Registry").watch(onPlacement);
  const actors: ActorGateway = parts?.router ?? system;

  const auth = c.resolve(Authenticator);
  const api = new HttpApi({
    actors,
    auth,
    directory: snapshotDirectory(storage.mainStore),
    devTokens: secret.dev,
    openapi: buildOpenApi,
    admin: parts?.admin,
    // Aggregate gauges only (no actor or user ids), so no token is needed, as Prometheus scrapes.
    counters,
    log: logger,
    metrics: async () => {
      const [workers, storageCommits] = await Promise.all([Promise.all(controls.map((w) => w.stats())), storage.commitStats()]);
      const e = edge!.stats();
      return {
        contentType: "text/plain; version=0.0.4",
        body: nodeMetricsText({
          workers, storageCommits, connections: { ws: e.connections }, channels: e.channels, edge: counters,
          activations: system.activations, leaseRenewals: parts?.leaseRenewals() ?? 0, failovers: parts?.router.takeovers ?? 0, failoverSeconds,
          memory: process.memoryUsage(),
        }),
      };
    },
    status: async () => {
      const lists = await Promise.all(controls.map((w) => w.list()));
      return {
        node: id,
        ...edge!.stats(),
        workers: lists.map((actors, index) => ({ index, actors: actors.length })),
        actors: lists.flatMap((list, worker) =>
          list.map((a) => ({ id: a.id, worker, epoch: a.epoch, state: a.state, depth: a.depth, idleMs: a.idleMs, ...a.detail }))),
      };
    },
  });
  edge = new EdgeServer({
    actors, auth, api, clock: systemClock, defer: turnEnd.late, metrics: counters,
    maxBufferedBytes: cfg.maxBufferedBytes, writeChunk: cfg.writeChunk, heartbeatMs: cfg.heartbeatMs, authTimeoutMs: cfg.authTimeoutMs,
    onClusterUpgrade: parts ? (req, socket, head) => parts!.links.handleUpgrade(req, socket, head) : undefined,
  });
  const port = await edge.listen(cfg.port, cfg.host);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await parts?.leave();
    await edge!.close();
    await system.stop();
    await stopWatch?.();
    await storage.close();
    await cluster?.registry.close();
  };
  if (parts) {
    await parts.start(cfg.advertise ?? `ws://${cfg.host}:${port}`, async (reason) => {
      logger.error("lease lost: stopping every actor", { reason });
      await system.stop();
      hooks.onLeaseLost?.(reason);
    });
  }
  return { id, port, system, edge, controls, stop };
}
