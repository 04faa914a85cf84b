import { availableParallelism } from "node:os";
import { DEFAULT_RATE_LIMITS, type RateLimitConfig } from "../edge/rate_limits.ts";
import { parseRate } from "../edge/token_bucket.ts";

/**
 * Actor worker threads when none is asked for: one per core but one, which the edge keeps busy (the
 * main thread: sockets, JSON, the fan-out's writes), and at least one. On 2 cores a second actor
 * worker only competed with the edge and PostgreSQL for them: with one, the durable bench spent
 * 15% less CPU per acknowledged publish in the server and in PostgreSQL (bench:ab, 3 interleaved
 * rounds a side, ranges separate); the fan-out scenarios moved less than their run-to-run spread.
 */
export function defaultWorkerCount(cores: number = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

/** Everything a node needs to start; every field has an embedded default. */
export interface NodeConfig {
  nodeId: string;
  host: string;
  port: number;
  /** Actor worker threads; default `defaultWorkerCount()`: one per core but the edge's. */
  workers: number;
  /** Directory of the embedded store and the generated JWT secret. */
  dataDir: string;
  /** PostgreSQL URL; when set, replaces the embedded PGlite store. */
  postgresUrl: string | undefined;
  pgPoolSize: number;
  /** Production JWT secret; when set, development tokens are disabled unless `devTokens`. */
  jwtSecret: string | undefined;
  devTokens: boolean;
  /** Hazelcast members (`host:port,...`); when set the node joins a cluster (needs PostgreSQL). */
  cluster: string[] | undefined;
  clusterName: string;
  /** Shared by the nodes of a cluster: authenticates node-to-node links. */
  clusterSecret: string | undefined;
  /** The URL other nodes use to reach this one (default `ws://host:port`). */
  advertise: string | undefined;
  leaseMs: number;
  askTimeoutMs: number;
  idlePassivateMs: number;
  historySize: number;
  maxBufferedBytes: number;
  /** Socket writes per chunk of a fan-out; the loop reads sockets and threads between chunks. */
  writeChunk: number;
  heartbeatMs: number;
  /** A socket opened without a token must authenticate within this time. */
  authTimeoutMs: number;
  /** Server-wide retention (a channel's own policy replaces it): maximum age in ms, maximum count. */
  retentionMaxAgeMs: number | undefined;
  retentionMaxCount: number | undefined;
  /** Entries younger than this are never trimmed, so retries across a failover stay exactly-once. */
  dedupeHorizonMs: number;
  /** Bounds of each user's `/api/sync` queue: events kept, and for how long. */
  syncQueueMax: number;
  syncQueueAgeMs: number;
  /** Test-only (`--test-broken-sse-resume`): SSE events carry no resume position. */
  testBrokenSseResume: boolean;
  /** Token-bucket limits (`--rl-<name> N/SECONDS|off`; `--rate-limits off` turns all off). */
  rateLimits: RateLimitConfig;
}

/** The flag of each rate limit: `--rl-api-user`, `--rl-publish-conn`, ... */
const RATE_FLAGS: Record<keyof RateLimitConfig, string> = {
  apiUser: "rl-api-user",
  requestUser: "rl-request-user",
  requestIp: "rl-request-ip",
  publishUser: "rl-publish-user",
  publishConn: "rl-publish-conn",
  connectIp: "rl-connect-ip",
  connectUser: "rl-connect-user",
};

const BOOLEAN_FLAGS = new Set(["dev-tokens", "test-broken-sse-resume"]);

/** Reads a config from command-line flags (`--port 8080`) over environment (`STORM_PORT`). */
export function loadConfig(argv: readonly string[], env: Record<string, string | undefined>): NodeConfig {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) continue;
    const eq = a.indexOf("=");
    if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else if (BOOLEAN_FLAGS.has(a.slice(2))) flags.set(a.slice(2), "1");
    else flags.set(a.slice(2), argv[++i] ?? "");
  }
  const get = (flag: string, envName: string) => flags.get(flag) ?? env[envName];
  const int = (flag: string, envName: string, dflt: number) => {
    const v = get(flag, envName);
    if (v === undefined || v === "") return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`Cannot read --${flag}: "${v}" is not a non-negative integer`);
    return n;
  };
  return {
    nodeId: get("node-id", "STORM_NODE_ID") ?? "n1",
    host: get("host", "STORM_HOST") ?? "127.0.0.1",
    port: int("port", "STORM_PORT", 8080),
    workers: Math.max(1, int("workers", "STORM_WORKERS", defaultWorkerCount())),
    dataDir: get("data-dir", "STORM_DATA_DIR") ?? ".data",
    postgresUrl: get("postgres", "STORM_POSTGRES_URL") || undefined,
    pgPoolSize: int("pg-pool", "STORM_PG_POOL", 4),
    jwtSecret: get("jwt-secret", "STORM_JWT_SECRET") || undefined,
    devTokens: flags.has("dev-tokens") || env["STORM_DEV_TOKENS"] === "1",
    cluster: get("cluster", "STORM_CLUSTER")?.split(",").map((s) => s.trim()).filter(Boolean) || undefined,
    clusterName: get("cluster-name", "STORM_CLUSTER_NAME") ?? "storm",
    clusterSecret: get("cluster-secret", "STORM_CLUSTER_SECRET") || undefined,
    advertise: get("advertise", "STORM_ADVERTISE") || undefined,
    leaseMs: int("lease-ms", "STORM_LEASE_MS", 3_000),
    askTimeoutMs: int("ask-timeout-ms", "STORM_ASK_TIMEOUT_MS", 10_000),
    idlePassivateMs: int("idle-ms", "STORM_IDLE_MS", 120_000),
    historySize: int("history", "STORM_HISTORY", 2_000),
    maxBufferedBytes: int("max-buffered", "STORM_MAX_BUFFERED", 1024 * 1024),
    writeChunk: Math.max(1, int("write-chunk", "STORM_WRITE_CHUNK", 100)),
    heartbeatMs: int("heartbeat-ms", "STORM_HEARTBEAT_MS", 45_000),
    authTimeoutMs: int("auth-timeout-ms", "STORM_AUTH_TIMEOUT_MS", 10_000),
    retentionMaxAgeMs: duration(get("retention-max-age", "STORM_RETENTION_MAX_AGE"), "retention-max-age"),
    retentionMaxCount: optionalInt(get("retention-max-count", "STORM_RETENTION_MAX_COUNT"), "retention-max-count", 1),
    dedupeHorizonMs: duration(get("dedupe-horizon", "STORM_DEDUPE_HORIZON"), "dedupe-horizon") ?? 60_000,
    syncQueueMax: Math.max(1, int("sync-queue-max", "STORM_SYNC_QUEUE_MAX", 1_000)),
    syncQueueAgeMs: Math.max(1, int("sync-queue-age-ms", "STORM_SYNC_QUEUE_AGE_MS", 5 * 60_000)),
    testBrokenSseResume: flags.has("test-broken-sse-resume"),
    rateLimits: rateLimits(get),
  };
}

function rateLimits(get: (flag: string, env: string) => string | undefined): RateLimitConfig {
  const all = get("rate-limits", "STORM_RATE_LIMITS") ?? "on";
  if (all !== "on" && all !== "off") throw new Error(`Cannot read --rate-limits: "${all}" is not on or off`);
  const out = {} as RateLimitConfig;
  for (const [key, flag] of Object.entries(RATE_FLAGS) as Array<[keyof RateLimitConfig, string]>) {
    const v = get(flag, `STORM_${flag.toUpperCase().replaceAll("-", "_")}`) ?? DEFAULT_RATE_LIMITS[key];
    out[key] = all === "off" ? undefined : parseRate(v, flag);
  }
  return out;
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `12h`, `30d` or plain milliseconds; undefined when unset. */
export function duration(v: string | undefined, flag: string): number | undefined {
  if (v === undefined || v === "") return undefined;
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(v);
  if (!m) throw new Error(`Cannot read --${flag}: "${v}" is not a duration (e.g. 90s, 15m, 12h, 30d, or ms)`);
  return Number(m[1]) * UNITS[m[2] ?? "ms"]!;
}

function optionalInt(v: string | undefined, flag: string, min: number): number | undefined {
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`Cannot read --${flag}: "${v}" is not an integer of at least ${min}`);
  return n;
}
