import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MessageChannel, Worker } from "node:worker_threads";
import type { ChannelDirectory } from "../edge/dispatcher.ts";
import { PortStore } from "../storage/port_store.ts";
import { openPostgresStore } from "../storage/postgres_store.ts";
import type { CommitStatsSnapshot } from "../storage/commit_stats.ts";
import type { Store } from "../storage/store.ts";
import type { UserDataStore } from "../storage/user_data_store.ts";
import type { ApiKeyStore } from "../storage/api_key_store.ts";
import type { WebhookStore } from "../storage/webhook_store.ts";
import type { StorePort } from "../storage/store_protocol.ts";
import type { NodeConfig } from "./config.ts";
import type { StoreBoot } from "./worker_control.ts";

const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

/** The store of a node: what the main thread uses, and how each actor worker reaches it. */
export interface StorageBackend {
  mainStore: Store & UserDataStore & ApiKeyStore & WebhookStore;
  /** The group commit run outside the actor workers: the storage thread's (embedded), the main store's (PostgreSQL). */
  commitStats(): Promise<CommitStatsSnapshot | undefined>;
  workerStore(index: number): { boot: StoreBoot; transfer: unknown[] };
  close(): Promise<void>;
}

export async function postgresBackend(cfg: NodeConfig): Promise<StorageBackend> {
  const mainStore = await openPostgresStore(cfg.postgresUrl!, { poolSize: 2 });
  return {
    mainStore,
    // The workers' stores report their own group commits; this is the main thread's store's.
    commitStats: async () => mainStore.commitStats?.(),
    workerStore: () => ({ boot: { kind: "postgres", url: cfg.postgresUrl!, poolSize: cfg.pgPoolSize }, transfer: [] }),
    close: () => mainStore.close(),
  };
}

/** PGlite in its own thread; each actor worker (including restarted ones) gets a fresh port to it. */
export async function embeddedBackend(cfg: NodeConfig): Promise<StorageBackend> {
  const dataDir = join(cfg.dataDir, "pglite");
  await initEmbeddedStore(dataDir);
  const main = new MessageChannel();
  const stats = new MessageChannel();
  const worker = new Worker(new URL(`./storage_worker_main${ext}`, import.meta.url), {
    workerData: { dataDir, ports: [main.port2], statsPort: stats.port2, baselineOnly: cfg.leanEmbedded },
    transferList: [main.port2, stats.port2],
    execArgv: ext === ".ts" && !("Deno" in globalThis) ? ["--import", "tsx"] : undefined,
  });
  const ready = await new Promise<{ ready: boolean; error?: string }>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  if (!ready.ready) throw new Error(`Cannot open the embedded store in ${cfg.dataDir}: ${ready.error}`);
  const mainStore = new PortStore(main.port1 as unknown as StorePort);
  // Scrapes are rare and answered in order: each request takes the next answer. A storage thread
  // that does not answer within a second (closing) leaves the figures out rather than the scrape hanging.
  const waiting: Array<(s: CommitStatsSnapshot | undefined) => void> = [];
  stats.port1.on("message", (s: CommitStatsSnapshot | undefined) => waiting.shift()?.(s));
  stats.port1.unref();
  return {
    mainStore,
    commitStats: () =>
      new Promise((resolve) => {
        const timer = setTimeout(() => resolve(undefined), 1_000);
        waiting.push((s) => {
          clearTimeout(timer);
          resolve(s);
        });
        stats.port1.postMessage(null);
      }),
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

/**
 * A fresh data directory is created by a process of its own (`pglite_init_main`), so that initdb's
 * memory is never this process's (see `initPgliteDir`): a node's first start costs a second Node
 * start and a second opening of the store (1.7 s of CPU, measured), and its idle footprint is the
 * same as after a restart. Under Deno the storage thread creates it itself (no `node` binary to run).
 */
async function initEmbeddedStore(dataDir: string): Promise<void> {
  if (existsSync(join(dataDir, "PG_VERSION")) || "Deno" in globalThis) return;
  const entry = fileURLToPath(new URL(`./pglite_init_main${ext}`, import.meta.url));
  const args = [...(ext === ".ts" ? ["--import", "tsx"] : []), entry, dataDir];
  await new Promise<void>((resolve, reject) =>
    execFile(process.execPath, args, { timeout: 120_000 }, (err, _out, stderr) =>
      err ? reject(new Error(`Cannot create the embedded store in ${dataDir}: ${stderr || err.message}`)) : resolve()));
}

/**
 * The JWT secret: configured (production: no dev tokens unless `--dev-tokens`, e.g. a local
 * cluster) or generated once into the data dir (embedded defaults: dev tokens on).
 */
export async function loadSecret(cfg: NodeConfig): Promise<{ key: Uint8Array; dev: boolean }> {
  if (cfg.jwtSecret) return { key: new TextEncoder().encode(cfg.jwtSecret), dev: cfg.devTokens };
  const file = join(cfg.dataDir, "jwt-secret");
  try {
    return { key: new TextEncoder().encode((await readFile(file, "utf8")).trim()), dev: true };
  } catch {
    const hex = randomBytes(32).toString("hex");
    await writeFile(file, hex + "\n", { mode: 0o600 });
    return { key: new TextEncoder().encode(hex), dev: true };
  }
}

export function snapshotDirectory(store: Store): ChannelDirectory {
  return {
    search: (user, query, before, limit) => store.search(user, query, before, limit),
    async list(after, limit) {
      const rows = await store.listSnapshots("channel:", after ? `channel:${after}` : "", limit);
      return rows.map(({ snapshot }) => {
        const s = snapshot.state as { name: string; visibility: string; topic: string; members: Record<string, string> };
        return { name: s.name, visibility: s.visibility, topic: s.topic, members: Object.keys(s.members) };
      });
    },
  };
}
