import { availableParallelism } from "node:os";
import { type LogLevel, parseLogLevel } from "../lib/logger.ts";

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
  /** Structured (JSON) logs on stderr at this level and above; `debug` logs every HTTP request. */
  logLevel: LogLevel;
}

const BOOLEAN_FLAGS = new Set(["dev-tokens"]);

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
    logLevel: parseLogLevel(get("log-level", "STORM_LOG_LEVEL")),
  };
}
