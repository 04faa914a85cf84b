import type { LogLevel } from "../lib/logger.ts";
import type { CommitStatsSnapshot } from "../storage/commit_stats.ts";
import type { ActorSummary } from "../runtime/core/actor_host.ts";
import type { RetentionPolicy } from "../actors/retention.ts";

/** Control-plane calls into an actor worker (over comlink: not on the message path). */
export interface WorkerControl {
  list(): ActorSummary[];
  passivate(id: string): Promise<boolean>;
  passivateIdle(idleMs: number): Promise<number>;
  /**
   * `memory`: V8 heap used; `heapTotal`: V8 heap committed (resident once touched); `commits`: the
   * worker's group commit, when its store runs one (PostgreSQL; embedded, the storage thread does).
   */
  stats(): { actors: number; memory: number; heapTotal: number; commits?: CommitStatsSnapshot };
}

/** How a worker finds its store: a port to the storage worker (embedded) or PostgreSQL. */
export type StoreBoot = { kind: "port"; port: unknown } | { kind: "postgres"; url: string; poolSize: number };

export interface WorkerBoot {
  nodeId: string;
  index: number;
  store: StoreBoot;
  control: unknown;
  idlePassivateMs: number;
  historySize: number;
  retention: RetentionPolicy;
  dedupeHorizonMs: number;
  logLevel: LogLevel;
  /** Bounds of each user's sync queue (`--sync-queue-max`, `--sync-queue-age-ms`). */
  syncQueue: { maxEvents: number; maxAgeMs: number };
}
