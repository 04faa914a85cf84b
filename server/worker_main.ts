import "reflect-metadata";
import { expose } from "comlink";
import nodeEndpoint from "comlink/dist/esm/node-adapter.mjs";
import { parentPort, workerData } from "node:worker_threads";
import { Logger } from "../lib/logger.ts";
import { actorFactories, actorGates } from "../actors/index.ts";
import { actorsWireCodec } from "../actors/wire_codec.ts";
import type { Store } from "../storage/store.ts";
import { PortStore } from "../storage/port_store.ts";
import { openPostgresStore } from "../storage/postgres_store.ts";
import type { StorePort } from "../storage/store_protocol.ts";
import { defaultChannelOptions } from "../actors/channel_actor.ts";
import { systemClock } from "../runtime/platform/system_clock.ts";
import type { PortLike } from "../runtime/core/platform.ts";
import { startWorkerRuntime } from "../runtime/core/worker_runtime.ts";
import type { WorkerBoot, WorkerControl } from "./worker_control.ts";

/** Composition root of an actor worker thread. */
const boot = workerData as WorkerBoot;
const store: Store = boot.store.kind === "port"
  ? new PortStore(boot.store.port as StorePort)
  : await openPostgresStore(boot.store.url, { poolSize: boot.store.poolSize });

const host = startWorkerRuntime(parentPort as unknown as PortLike, (fn) => void setImmediate(fn), {
  nodeId: boot.nodeId,
  store,
  clock: systemClock,
  factories: actorFactories({ ...defaultChannelOptions, historySize: boot.historySize, retention: boot.retention, dedupeHorizonMs: boot.dedupeHorizonMs }, boot.syncQueue),
  gates: actorGates,
  idlePassivateMs: boot.idlePassivateMs,
  log: new Logger({ node: boot.nodeId, thread: `worker${boot.index}` }, boot.logLevel, (line) => process.stderr.write(`${line}\n`)).report,
}, actorsWireCodec);

const control: WorkerControl = {
  list: () => host.list(),
  passivate: (id) => host.passivate(id),
  passivateIdle: (ms) => host.passivateIdle(ms),
  stats: () => {
    const m = process.memoryUsage();
    return { actors: host.size, memory: m.heapUsed, heapTotal: m.heapTotal, commits: store.commitStats?.() };
  },
};
expose(control, nodeEndpoint(boot.control as never));
