import { availableParallelism } from "node:os";
import { MessageChannel, Worker } from "node:worker_threads";
import type { Platform, PortLike, WorkerHandle } from "../core/platform.ts";
import { TurnEnd } from "../core/turn_end.ts";

/**
 * This thread's turn end (each worker thread has its own module instance): posts to other threads
 * (`nodePlatform.defer`) and to other nodes run before socket writes.
 */
export const turnEnd = new TurnEnd((fn) => void setImmediate(fn));

const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";

/**
 * The platform adapter for Node.js, also used under Deno: Deno implements `node:worker_threads`
 * and `node:os`, so one adapter serves both (checked by the Deno smoke test in CI).
 * A `.ts` worker entry under Node (tests run from source) is loaded through tsx.
 */
export const nodePlatform: Platform = {
  spawnWorker(entry, data, transfer) {
    const execArgv = !isDeno && entry.endsWith(".ts") ? ["--import", "tsx"] : undefined;
    return new Worker(new URL(entry), { workerData: data, transferList: transfer as never[], execArgv }) as unknown as WorkerHandle;
  },
  createChannel() {
    const { port1, port2 } = new MessageChannel();
    return { port1: port1 as unknown as PortLike, port2: port2 as unknown as PortLike };
  },
  defer: turnEnd.early,
  cpuCount: () => availableParallelism(),
};
