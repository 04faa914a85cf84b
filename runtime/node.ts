import "reflect-metadata";
import { type Remote, wrap } from "comlink";
import nodeEndpoint from "comlink/dist/esm/node-adapter.mjs";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MessageChannel, Worker } from "node:worker_threads";
import { container } from "tsyringe";
import type { EdgeEvent } from "../actors/messages.ts";
import { Authenticator } from "../edge/auth.ts";
import { EdgeServer } from "../edge/edge_server.ts";
import { type ChannelDirectory, HttpApi } from "../edge/http_api.ts";
import { buildOpenApi } from "../edge/openapi.ts";
import { PortStore } from "../storage/port_store.ts";
import { openPostgresStore } from "../storage/postgres_store.ts";
import type { Store } from "../storage/store.ts";
import type { StorePort } from "../storage/store_protocol.ts";
import type { NodeConfig } from "./config.ts";
import { ActorSystem } from "./core/actor_system.ts";
import { systemClock } from "./platform/system_clock.ts";
import { MemoryRegistry } from "./core/memory_registry.ts";
import { hashPlacement } from "./core/placement.ts";
import type { Registry } from "./core/registry.ts";
import { nodePlatform } from "./platform/node_platform.ts";
import type { StoreBoot, WorkerBoot, WorkerControl } from "./worker_control.ts";

export interface RunningNode {
  port: number;
  system: ActorSystem;
  edge: EdgeServer;
  controls: Array<Remote<WorkerControl>>;
  stop(): Promise<void>;
}

const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
const log = (msg: string, err?: unknown) => console.error(`[storm] ${msg}`, err ?? "");

/**
 * The composition root of a node process: the only place that picks concrete backends (PGlite or
 * PostgreSQL, the in-process registry) and wires them into the core through tsyringe.
 */
export async function startNode(cfg: NodeConfig): Promise<RunningNode> {
  await mkdir(cfg.dataDir, { recursive: true });
  const c = container.createChildContainer();
  const secret = await loadSecret(cfg);
  c.register(Authenticator, { useValue: new Authenticator(secret.key) });
  c.register<Registry>("Registry", { useValue: new MemoryRegistry(systemClock) });

  const storage = cfg.postgresUrl ? await postgresBackend(cfg) : await embeddedBackend(cfg);
  c.register<Store>("Store", { useValue: storage.mainStore });

  let edge: EdgeServer | undefined;
  const controls: Array<Remote<WorkerControl>> = [];
  const system = new ActorSystem({
    nodeId: cfg.nodeId,
    platform: nodePlatform,
    clock: systemClock,
    workers: cfg.workers,
    workerEntry: new URL(`./worker_main${ext}`, import.meta.url).href,
    workerData: (index) => {
      const control = new MessageChannel();
      controls[index] = wrap<WorkerControl>(nodeEndpoint(control.port1 as never));
      const store = storage.workerStore(index);
      const boot: WorkerBoot = { nodeId: cfg.nodeId, index, store: store.boot, control: control.port2, idlePassivateMs: cfg.idlePassivateMs, historySize: cfg.historySize };
      return { data: boot, transfer: [control.port2, ...store.transfer] };
    },
    placement: hashPlacement,
    registry: c.resolve<Registry>("Registry"),
    askTimeoutMs: cfg.askTimeoutMs,
    onEdgeEvent: (ev) => edge?.onEvent(ev as EdgeEvent),
    log,
  });
  system.start();

  const auth = c.resolve(Authenticator);
  const api = new HttpApi({
    actors: system,
    auth,
    directory: snapshotDirectory(c.resolve<Store>("Store")),
    devTokens: secret.dev,
    openapi: buildOpenApi,
    status: async () => {
      const lists = await Promise.all(controls.map((w) => w.list()));
      return {
        node: cfg.nodeId,
        ...edge!.stats(),
        workers: lists.map((actors, index) => ({ index, actors: actors.length })),
        actors: lists.flatMap((actors, worker) => actors.map((a) => ({ id: a.id, worker, epoch: a.epoch, state: a.state, depth: a.depth }))),
      };
    },
  });
  edge = new EdgeServer({
    actors: system, auth, api, clock: systemClock, defer: (fn) => void setImmediate(fn),
    maxBufferedBytes: cfg.maxBufferedBytes, heartbeatMs: cfg.heartbeatMs, authTimeoutMs: cfg.authTimeoutMs,
  });
  const port = await edge.listen(cfg.port, cfg.host);
  return {
    port,
    system,
    edge,
    controls,
    async stop() {
      await edge!.close();
      await system.stop();
      await storage.close();
    },
  };
}

interface StorageBackend {
  mainStore: Store;
  workerStore(index: number): { boot: StoreBoot; transfer: unknown[] };
  close(): Promise<void>;
}

async function postgresBackend(cfg: NodeConfig): Promise<StorageBackend> {
  const mainStore = await openPostgresStore(cfg.postgresUrl!, { poolSize: 2 });
  return {
    mainStore,
    workerStore: () => ({ boot: { kind: "postgres", url: cfg.postgresUrl!, poolSize: cfg.pgPoolSize }, transfer: [] }),
    close: () => mainStore.close(),
  };
}

/** PGlite in its own thread; each actor worker (including restarted ones) gets a fresh port to it. */
async function embeddedBackend(cfg: NodeConfig): Promise<StorageBackend> {
  const main = new MessageChannel();
  const worker = new Worker(new URL(`./storage_worker_main${ext}`, import.meta.url), {
    workerData: { dataDir: join(cfg.dataDir, "pglite"), ports: [main.port2] },
    transferList: [main.port2],
    execArgv: ext === ".ts" && !("Deno" in globalThis) ? ["--import", "tsx"] : undefined,
  });
  const ready = await new Promise<{ ready: boolean; error?: string }>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  if (!ready.ready) throw new Error(`Cannot open the embedded store in ${cfg.dataDir}: ${ready.error}`);
  const mainStore = new PortStore(main.port1 as unknown as StorePort);
  return {
    mainStore,
    workerStore: () => {
      const ch = new MessageChannel();
      worker.postMessage({ serve: ch.port2 }, [ch.port2]);
      return { boot: { kind: "port", port: ch.port1 }, transfer: [ch.port1] };
    },
    async close() {
      await mainStore.close();
      worker.postMessage({ close: true });
      await new Promise((r) => worker.once("message", r));
      await worker.terminate();
    },
  };
}

/** The JWT secret: configured (production: no dev tokens) or generated once into the data dir. */
async function loadSecret(cfg: NodeConfig): Promise<{ key: Uint8Array; dev: boolean }> {
  if (cfg.jwtSecret) return { key: new TextEncoder().encode(cfg.jwtSecret), dev: false };
  const file = join(cfg.dataDir, "jwt-secret");
  try {
    return { key: new TextEncoder().encode((await readFile(file, "utf8")).trim()), dev: true };
  } catch {
    const hex = randomBytes(32).toString("hex");
    await writeFile(file, hex + "\n", { mode: 0o600 });
    return { key: new TextEncoder().encode(hex), dev: true };
  }
}

function snapshotDirectory(store: Store): ChannelDirectory {
  return {
    async list(after, limit) {
      const rows = await store.listSnapshots("channel:", after ? `channel:${after}` : "", limit);
      return rows.map(({ snapshot }) => {
        const s = snapshot.state as { name: string; visibility: string; topic: string; members: Record<string, string> };
        return { name: s.name, visibility: s.visibility, topic: s.topic, members: Object.keys(s.members) };
      });
    },
  };
}
