import "reflect-metadata";
import { type Remote, wrap } from "comlink";
import nodeEndpoint from "comlink/dist/esm/node-adapter.mjs";
import type { AddressInfo } from "node:net";
import { MessageChannel } from "node:worker_threads";
import { container } from "tsyringe";
import type { EdgeEvent } from "../actors/messages.ts";
import { actorsWireCodec } from "../actors/wire_codec.ts";
import { Authenticator } from "../edge/auth.ts";
import { EdgeServer } from "../edge/edge_server.ts";
import { type ActorGateway, channelActor } from "../edge/gateway.ts";
import { Dispatcher } from "../edge/dispatcher.ts";
import { Fanout } from "../edge/fanout.ts";
import { HttpApi } from "../edge/http_api.ts";
import { Subscriptions } from "../edge/subscriptions.ts";
import { RateLimits } from "../edge/rate_limits.ts";
import { buildOpenApi } from "../edge/openapi.ts";
import { userDataRoutes } from "../edge/user_data_routes.ts";
import { ApiKeyAuth } from "../edge/api_keys.ts";
import { serverApiRoutes } from "../edge/server_api.ts";
import { TokenRevocations } from "../edge/token_revocations.ts";
import { UserEraser } from "../edge/user_eraser.ts";
import { WebhookDeliverer } from "../edge/webhook_deliverer.ts";
import { webhookRoutes } from "../edge/webhook_routes.ts";
import { StaticFiles } from "../edge/static_files.ts";
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
import { embeddedBackend, loadSecret, postgresBackend, snapshotDirectory, type StorageBackend } from "./storage_backend.ts";
import { bindHttp } from "./bind_http.ts";
import { type DataDirLock, lockDataDir } from "./data_dir_lock.ts";
import { StartupError } from "./startup_error.ts";
import { FAILOVER_BUCKETS, nodeMetricsText } from "./node_metrics.ts";
import type { WorkerBoot, WorkerControl } from "./worker_control.ts";

export interface RunningNode {
  /**
   * This process's node id; in a cluster, the current incarnation (`<node-id>.<start time>`),
   * a new one after each rejoin.
   */
  readonly id: string;
  port: number;
  system: ActorSystem;
  edge: EdgeServer;
  controls: Array<Remote<WorkerControl>>;
  stop(): Promise<void>;
}

export interface NodeHooks {
  /** The node lost its cluster lease and cannot rejoin in place (its actors could not be dropped or restarted); the process should exit. */
  onLeaseLost?(reason: string): void;
  /** The node lost its lease and holds one again as the new incarnation `node`. */
  onRejoined?(node: string): void;
}

const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

/**
 * The composition root of a node process: the only place that picks concrete backends (PGlite or
 * PostgreSQL; the in-process or the Hazelcast registry) and wires them into the core via tsyringe.
 */
export async function startNode(cfg: NodeConfig, hooks: NodeHooks = {}, held?: DataDirLock): Promise<RunningNode> {
  const lock = held ?? lockDataDir(cfg.dataDir);
  try {
    return await startLocked(cfg, hooks, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function startLocked(cfg: NodeConfig, hooks: NodeHooks, lock: DataDirLock): Promise<RunningNode> {
  // In a cluster each incarnation has its own id, strictly later than the last: ids never return.
  let incarnatedAt = 0;
  const incarnation = () => {
    incarnatedAt = Math.max(Date.now(), incarnatedAt + 1);
    return `${cfg.nodeId}.${incarnatedAt.toString(36)}`;
  };
  const id = cfg.cluster ? incarnation() : cfg.nodeId;
  const logger = new Logger({ node: id }, cfg.logLevel, (line) => process.stderr.write(`${line}\n`));
  const log = logger.report;
  const counters = new EdgeMetrics(systemClock);
  const failoverSeconds = new Histogram(
    "storm_failover_seconds",
    "from this node seeing a dead node's lease gone (or its link refused) to an actor it took over answering its first message (activated, epoch fenced)",
    FAILOVER_BUCKETS,
  );
  const c = container.createChildContainer();
  // The port is bound before the store is opened: a taken port fails in milliseconds, not after
  // the store's start-up; until the node is ready the port answers 503 (and /livez 200).
  const http = await bindHttp(cfg.port, cfg.host);
  let ready = false;
  let stopping = false;
  const secret = await loadSecret(cfg);
  let storage: StorageBackend;
  try {
    storage = cfg.postgresUrl ? await postgresBackend(cfg) : await embeddedBackend(cfg);
  } catch (err) {
    http.close();
    const where = cfg.postgresUrl ? `PostgreSQL at ${redactUrl(cfg.postgresUrl)}` : `the embedded store in ${cfg.dataDir}`;
    const fix = cfg.postgresUrl ? "check that the server runs and --postgres is right" : "check the directory, or move it aside to start afresh";
    throw new StartupError("storeUnavailable", `Cannot open ${where}: ${oneLine(err)} (${fix})`, { cause: err });
  }
  const revocations = new TokenRevocations(storage.mainStore, secret.key);
  await revocations.start();
  c.register(Authenticator, { useValue: new Authenticator(secret.key, "storm", (user, iat) => revocations.isRevoked(user, iat)) });
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
      const boot: WorkerBoot = { nodeId: system.nodeId, index, store: store.boot, control: control.port2, idlePassivateMs: cfg.idlePassivateMs, historySize: cfg.historySize, logLevel: cfg.logLevel,
        retention: { maxAgeMs: cfg.retentionMaxAgeMs, maxCount: cfg.retentionMaxCount }, dedupeHorizonMs: cfg.dedupeHorizonMs,
        syncQueue: { maxEvents: cfg.syncQueueMax, maxAgeMs: cfg.syncQueueAgeMs } };
      return { data: boot, transfer: [control.port2, ...store.transfer] };
    },
    placement: hashPlacement,
    registry: c.resolve<Registry>("Registry"),
    askTimeoutMs: cfg.askTimeoutMs,
    onEdgeEvent: (ev) => edge?.onEvent(ev as EdgeEvent),
    outbound: cluster ? (to, msg) => cluster.router().tell(to, msg) : undefined,
    log,
    codec: actorsWireCodec,
    // Only a channel's epoch is watched (`onPlacement` below): a session's activation writes nothing.
    epochKinds: ["channel"],
  });
  system.start();

  const onPlacement = (actor: string, p: Placement | null) => {
    if (p && p.epoch > 0 && actor.startsWith("channel:")) edge?.placementChanged(actor.slice("channel:".length), p.epoch);
  };
  // In a cluster each node enforces its share of a user's limit: limit / live nodes (lease table).
  const limits = new RateLimits(cfg.rateLimits, systemClock, (scope) => counters.rateLimit(scope));
  let parts: ClusterParts | undefined;
  if (cluster) {
    parts = cluster.wire({
      system, onEdgeEvent: (ev) => edge?.onEvent(ev as EdgeEvent), onPlacement, onLiveNodes: (n) => limits.setLiveNodes(n),
      onTakenOver: (_id, ms) => failoverSeconds.observe(ms / 1000),
      // A batch for a dead incarnation's edge: its channel stops waiting for that edge's reports.
      onEdgeGone: (gone, ev) => {
        const e = ev as EdgeEvent;
        if (e.type === "msgs") parts?.router.tell(channelActor(e.ch), { type: "edge_gone", edge: gone });
      },
    });
  }
  const stopWatch = parts ? undefined : await c.resolve<Registry>("Registry").watch(onPlacement);
  const actors: ActorGateway = parts?.router ?? system;

  const auth = c.resolve(Authenticator);
  const fanout = new Fanout();
  const subscriptions = new Subscriptions(actors, fanout);
  const dispatcher = new Dispatcher(actors, subscriptions, snapshotDirectory(storage.mainStore), limits, counters);
  const api = new HttpApi({
    dispatcher,
    auth,
    devTokens: secret.dev,
    devAdmin: cfg.devAdmin,
    // Ready: started, not stopping, the store answers, and in a cluster the lease is held.
    readiness: async () => {
      const checks: Record<string, boolean> = { started: ready && !stopping };
      checks["store"] = await storage.mainStore.currentEpoch("node:readyz").then(() => true, () => false);
      if (parts) checks["lease"] = parts.leaseHeld();
      return checks;
    },
    openapi: buildOpenApi,
    admin: parts?.admin,
    // Aggregate figures only (no actor or user ids), so no token is needed, as Prometheus scrapes.
    counters,
    log: logger,
    metrics: async () => {
      const [workers, storageCommits] = await Promise.all([Promise.all(controls.map((w) => w.stats())), storage.commitStats()]);
      const e = edge!.stats();
      return {
        contentType: "text/plain; version=0.0.4",
        body: nodeMetricsText({
          workers, storageCommits, connections: { ws: e.connections, sse: e.sse, poll: e.polls }, channels: e.channels, edge: counters,
          activations: system.activations, leaseRenewals: parts?.leaseRenewals() ?? 0, leaseLosses: parts?.leaseLosses() ?? 0, rejoins: parts?.rejoins() ?? 0, failovers: parts?.router.takeovers ?? 0, failoverSeconds,
          memory: process.memoryUsage(),
        }),
      };
    },
    status: async () => {
      const lists = await Promise.all(controls.map((w) => w.list()));
      return {
        node: system.nodeId,
        ...edge!.stats(),
        workers: lists.map((actors, index) => ({ index, actors: actors.length })),
        actors: lists.flatMap((list, worker) =>
          list.map((a) => ({ id: a.id, worker, epoch: a.epoch, state: a.state, depth: a.depth, idleMs: a.idleMs, ...a.detail }))),
      };
    },
  });
  userDataRoutes(api, { actors, store: storage.mainStore, eraser: new UserEraser(actors, storage.mainStore, secret.key), exportPageSize: 1_000 });
  const keys = new ApiKeyAuth(storage.mainStore);
  serverApiRoutes(api, { actors, keys, store: storage.mainStore, revocations });
  webhookRoutes(api, { actors, keys, store: storage.mainStore });
  const webhooks = new WebhookDeliverer({
    store: storage.mainStore, nodeId: id, pollMs: cfg.webhookPollMs, leaseMs: cfg.webhookLeaseMs,
    retryBaseMs: cfg.webhookRetryBaseMs, retryMaxMs: cfg.webhookRetryMaxMs, log,
  });
  edge = new EdgeServer({
    http, actors, fanout, subscriptions, dispatcher, limits, auth, api, clock: systemClock, defer: turnEnd.late, metrics: counters,
    maxBufferedBytes: cfg.maxBufferedBytes, writeChunk: cfg.writeChunk, heartbeatMs: cfg.heartbeatMs, authTimeoutMs: cfg.authTimeoutMs,
    testBrokenSseResume: cfg.testBrokenSseResume,
    onClusterUpgrade: parts ? (req, socket, head) => parts!.links.handleUpgrade(req, socket, head) : undefined,
    staticFiles: StaticFiles.fromBuild(),
  });
  const port = (http.address() as AddressInfo).port;
  const stop = async () => {
    if (stopping) return;
    // Not ready from here on (`/readyz` 503): a load balancer sends no new client here.
    stopping = true;
    if (parts) await handOff(parts, system.nodeId, logger);
    // Clients reconnect (4101) to another node and resume from their positions (G4). The HTTP server
    // is closed once its last connection is, and the peers' links into it end with `leave`.
    const edgeClosed = edge!.close();
    await parts?.leave();
    await webhooks.stop();
    await edgeClosed;
    await system.stop();
    await stopWatch?.();
    revocations.stop();
    await storage.close();
    await cluster?.registry.close();
    lock.release();
  };
  if (parts) {
    await parts.start(cfg.advertise ?? `ws://${cfg.host}:${port}`, {
      nextIncarnation: incarnation,
      onLost(reason) {
        logger.error("lease lost: every actor dropped, client connections kept; rejoining as a new incarnation", { reason, incarnation: system.nodeId });
        edge!.suspend();
        // The workers are about to be terminated: a call on their control ports would never be
        // answered (`/metrics`, `/status` would hang). Fresh workers fill this again on rejoin.
        controls.length = 0;
      },
      onRejoined(node, old) {
        logger.warn("lease taken again: serving as a new incarnation, streams resume from their cursors", { incarnation: node, old });
        edge!.rejoined(`edge:${old}`);
        hooks.onRejoined?.(node);
      },
      onFatal(err) {
        logger.error("lease lost and the node cannot rejoin in place: exiting", { err });
        hooks.onLeaseLost?.(String(err));
      },
    });
  }
  webhooks.start();
  ready = true;
  return { get id() { return system.nodeId; }, port, system, edge, controls, stop };
}

/** How long a stopping node spends moving its actors away before it stops regardless. */
const HAND_OFF_MS = 20_000;

/**
 * A graceful stop in a cluster (SIGTERM: Kubernetes' preStop, a rolling restart) first moves every
 * actor placed on this node to the other live nodes, while its links and its clients are still up:
 * each actor's new activation fences the old one (its epoch), subscribed sockets here and elsewhere
 * resubscribe to it from their positions, and requests in flight are retried by their callers
 * (exactly-once by client id). Actors it could not move, or a stop with no other node, fall back to
 * the crash path: the lease is given back and the survivors take them over.
 */
async function handOff(parts: ClusterParts, self: string, logger: Logger): Promise<void> {
  parts.router.drain();
  const started = Date.now();
  try {
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`not done after ${HAND_OFF_MS} ms`)), HAND_OFF_MS).unref());
    const { moved, failed } = await Promise.race([parts.admin.drain(self), timeout]);
    logger.info("stopping: actors handed off", { moved, failed: failed.length, ms: Date.now() - started });
  } catch (err) {
    logger.warn("stopping: actors not handed off, the survivors will take them over", { err, ms: Date.now() - started });
  }
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0]!.slice(0, 300);
}

/** A PostgreSQL URL without its password, for messages. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}
