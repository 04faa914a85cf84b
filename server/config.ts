import { availableParallelism } from "node:os";
import { LOG_LEVELS, type LogLevel } from "../lib/logger.ts";
import { checkStormEnv, type FlagSpecs, intValue, parseFlags, secretValue, UsageError } from "../cli/cli_args.ts";
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
  /** The embedded store's WebAssembly compiled by Liftoff only: less memory, a slower store (`server/v8_footprint.ts`). */
  leanEmbedded: boolean;
  /** Production JWT secret; when set, development tokens are disabled unless `devTokens`. */
  jwtSecret: string | undefined;
  devTokens: boolean;
  /** The dev-token route may mint admin tokens (`--dev-admin`); otherwise user tokens only. */
  devAdmin: boolean;
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
  /** Webhook delivery (edge/webhook_deliverer.ts): poll period, lease, retry backoff. */
  webhookPollMs: number;
  webhookLeaseMs: number;
  webhookRetryBaseMs: number;
  webhookRetryMaxMs: number;
  /** Bounds of each user's `/api/sync` queue: events kept, and for how long. */
  syncQueueMax: number;
  syncQueueAgeMs: number;
  /** Test-only (`--test-broken-sse-resume`): SSE events carry no resume position. */
  testBrokenSseResume: boolean;
  /** Token-bucket limits (`--rl-<name> N/SECONDS|off`; `--rate-limits off` turns all off). */
  rateLimits: RateLimitConfig;
  /** Structured (JSON) logs on stderr at this level and above; `debug` logs every HTTP request. */
  logLevel: LogLevel;
}

/** The flag of each rate limit: `--rl-api-user`, `--rl-publish-conn`, ... */
const RATE_FLAGS = {
  apiUser: "rl-api-user",
  requestUser: "rl-request-user",
  requestIp: "rl-request-ip",
  publishUser: "rl-publish-user",
  publishConn: "rl-publish-conn",
  connectIp: "rl-connect-ip",
  connectUser: "rl-connect-user",
} as const satisfies Record<keyof RateLimitConfig, string>;

/**
 * Every `storm serve` option: its flag, its variable, how it is read. The usage text, the strict
 * parser's option table and the variables' typo check all come from this one list.
 */
const OPTIONS = {
  port: { env: "STORM_PORT", kind: "int", max: 65_535, help: "HTTP and WebSocket port (default 8080; 0: any free port)" },
  host: { env: "STORM_HOST", kind: "string", help: "address to listen on (default 127.0.0.1; a non-loopback host needs a JWT secret)" },
  "data-dir": { env: "STORM_DATA_DIR", kind: "string", help: "the node's directory, held exclusively: embedded store, generated JWT secret (default .data)" },
  workers: { env: "STORM_WORKERS", kind: "int", min: 1, help: "actor worker threads (default: one per core but one)" },
  postgres: { env: "STORM_POSTGRES_URL", kind: "string", help: "PostgreSQL URL: replaces the embedded PGlite store" },
  "lean-embedded": { env: "STORM_LEAN_EMBEDDED", kind: "bool", help: "embedded store compiled by V8's baseline compiler only: ~50 MB less idle RSS, ~1/3 more store CPU per message" },
  "pg-pool": { env: "STORM_PG_POOL", kind: "int", min: 1, help: "PostgreSQL connections per worker (default 4)" },
  "jwt-secret": { env: "STORM_JWT_SECRET", kind: "secret", help: "production JWT secret, 32 bytes or more (prefer --jwt-secret-file: argv is visible in ps)" },
  "jwt-secret-file": { env: "STORM_JWT_SECRET_FILE", kind: "string", help: "file holding the JWT secret" },
  "dev-tokens": { env: "STORM_DEV_TOKENS", kind: "bool", help: "keep POST /auth/dev-token on even with a JWT secret (user tokens only)" },
  "dev-admin": { env: "STORM_DEV_ADMIN", kind: "bool", help: "let POST /auth/dev-token mint admin tokens too (development only; logged)" },
  "node-id": { env: "STORM_NODE_ID", kind: "string", help: "node name (default n1)" },
  cluster: { env: "STORM_CLUSTER", kind: "string", help: "Hazelcast members HOST:PORT,...: join a cluster (needs --postgres)" },
  "cluster-name": { env: "STORM_CLUSTER_NAME", kind: "string", help: "Hazelcast cluster name (default storm)" },
  "cluster-secret": { env: "STORM_CLUSTER_SECRET", kind: "secret", help: "secret of node-to-node links (prefer --cluster-secret-file)" },
  "cluster-secret-file": { env: "STORM_CLUSTER_SECRET_FILE", kind: "string", help: "file holding the cluster secret" },
  advertise: { env: "STORM_ADVERTISE", kind: "string", help: "URL other nodes reach this one at (default ws://HOST:PORT)" },
  "lease-ms": { env: "STORM_LEASE_MS", kind: "int", min: 100, help: "cluster lease (default 3000)" },
  "ask-timeout-ms": { env: "STORM_ASK_TIMEOUT_MS", kind: "int", min: 1, help: "actor request timeout (default 10000)" },
  "idle-ms": { env: "STORM_IDLE_MS", kind: "int", help: "idle actors are passivated after this (default 120000; 0: never)" },
  history: { env: "STORM_HISTORY", kind: "int", help: "messages per channel kept in memory (default 2000)" },
  "max-buffered": { env: "STORM_MAX_BUFFERED", kind: "int", min: 1, help: "unsent bytes past which a socket is a slow consumer (default 1048576)" },
  "write-chunk": { env: "STORM_WRITE_CHUNK", kind: "int", min: 1, help: "socket writes per fan-out chunk (default 100)" },
  "heartbeat-ms": { env: "STORM_HEARTBEAT_MS", kind: "int", min: 1, help: "silent sockets are closed after this (default 45000)" },
  "auth-timeout-ms": { env: "STORM_AUTH_TIMEOUT_MS", kind: "int", min: 1, help: "time to send an auth frame (default 10000)" },
  "retention-max-age": { env: "STORM_RETENTION_MAX_AGE", kind: "string", help: "server-wide retention: drop messages older than this (90s, 15m, 12h, 30d or ms; default: keep)" },
  "retention-max-count": { env: "STORM_RETENTION_MAX_COUNT", kind: "int", min: 1, help: "server-wide retention: keep at most this many messages per channel (default: keep all)" },
  "dedupe-horizon": { env: "STORM_DEDUPE_HORIZON", kind: "string", help: "entries younger than this are never trimmed: retries stay exactly-once (default 60s)" },
  "webhook-poll-ms": { env: "STORM_WEBHOOK_POLL_MS", kind: "int", min: 10, help: "how often webhook endpoints are looked at for new events (default 500)" },
  "webhook-lease-ms": { env: "STORM_WEBHOOK_LEASE_MS", kind: "int", min: 100, help: "a node delivers an endpoint under a lease this long (default 10000)" },
  "webhook-retry-base-ms": { env: "STORM_WEBHOOK_RETRY_BASE_MS", kind: "int", min: 1, help: "first webhook retry after about this long, doubling per failure (default 1000)" },
  "webhook-retry-max-ms": { env: "STORM_WEBHOOK_RETRY_MAX_MS", kind: "int", min: 1, help: "longest wait between webhook retries (default 300000)" },
  "sync-queue-max": { env: "STORM_SYNC_QUEUE_MAX", kind: "int", min: 1, help: "events kept per user for /api/sync/poll (default 1000)" },
  "sync-queue-age-ms": { env: "STORM_SYNC_QUEUE_AGE_MS", kind: "int", min: 1, help: "how long a /api/sync event is kept (default 300000)" },
  "rate-limits": { env: "STORM_RATE_LIMITS", kind: "string", help: "on (default) or off: every rate limit at once" },
  "rl-api-user": { env: "STORM_RL_API_USER", kind: "string", help: `/api/* requests per user, N/SECONDS or off (default ${DEFAULT_RATE_LIMITS.apiUser})` },
  "rl-request-user": { env: "STORM_RL_REQUEST_USER", kind: "string", help: `requests and frames per user (default ${DEFAULT_RATE_LIMITS.requestUser})` },
  "rl-request-ip": { env: "STORM_RL_REQUEST_IP", kind: "string", help: `HTTP requests per IP (default ${DEFAULT_RATE_LIMITS.requestIp})` },
  "rl-publish-user": { env: "STORM_RL_PUBLISH_USER", kind: "string", help: `publishes per user (default ${DEFAULT_RATE_LIMITS.publishUser})` },
  "rl-publish-conn": { env: "STORM_RL_PUBLISH_CONN", kind: "string", help: `publishes per connection (default ${DEFAULT_RATE_LIMITS.publishConn})` },
  "rl-connect-ip": { env: "STORM_RL_CONNECT_IP", kind: "string", help: `new connections per IP (default ${DEFAULT_RATE_LIMITS.connectIp})` },
  "rl-connect-user": { env: "STORM_RL_CONNECT_USER", kind: "string", help: `new connections per user (default ${DEFAULT_RATE_LIMITS.connectUser})` },
  "log-level": { env: "STORM_LOG_LEVEL", kind: "string", help: "JSON log lines on stderr at this level and above: debug (every HTTP request), info (default), warn, error" },
  "test-broken-sse-resume": { env: "STORM_TEST_BROKEN_SSE_RESUME", kind: "bool", help: "test only: SSE events carry no resume position (proves the conformance suite fails)" },
} as const satisfies Record<string, { env: string; kind: "int" | "string" | "bool" | "secret"; min?: number; max?: number; help: string }>;

type OptionName = keyof typeof OPTIONS;

export const SERVE_USAGE = `storm serve: run a Storm node

  storm serve [options]        every option also reads from its variable (flags win)

${Object.entries(OPTIONS).map(([name, o]) => `  --${(name + (o.kind === "bool" ? "" : " V")).padEnd(24)} ${o.env.padEnd(26)} ${o.help}`).join("\n")}
  --help                                                print this and exit
  --version                                             print the version and exit

Exit status: 0 stopped; 2 bad configuration; 3 the data directory is held by another process;
4 the port is in use; 5 the store cannot be opened; 75 the cluster lease was lost and the node
could not rejoin in place (a lost lease alone is followed by a rejoin, not an exit).`;

const SPECS: FlagSpecs = Object.fromEntries(Object.entries(OPTIONS).map(([name, o]) => [name, { type: o.kind === "bool" ? "boolean" : "string" }]));

/** What `storm serve`'s arguments ask for: help, the version, or a node with the warnings to print. */
export interface ServeArgs {
  help: boolean;
  version: boolean;
  /** Absent with `--help` or `--version`. */
  config?: NodeConfig;
  warnings: string[];
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/**
 * Reads `storm serve`'s configuration from flags over environment (`--port 8080` over
 * `STORM_PORT`), strictly: an unknown flag, a missing or bad value, or a `STORM_*` variable whose
 * name is a typo of a known one is an error; so is a non-loopback `--host` without a JWT secret.
 * @throws {UsageError}
 */
export function loadConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ServeArgs {
  const parsed = parseFlags(argv, SPECS);
  if (parsed.help || parsed.version) return { help: parsed.help, version: parsed.version, warnings: [] };
  checkStormEnv(env);
  const warnings: string[] = [];
  const raw = (name: OptionName): string | undefined => {
    const v = parsed.values[name];
    if (typeof v === "string") return v;
    if (v === true) return "1";
    const e = env[OPTIONS[name].env];
    return e === "" ? undefined : e;
  };
  const what = (name: OptionName) => (parsed.values[name] !== undefined ? `--${name}` : OPTIONS[name].env);
  const int = (name: OptionName, dflt: number) => {
    const o = OPTIONS[name] as { min?: number; max?: number };
    return intValue(raw(name), what(name), dflt, o.min ?? 0, o.max);
  };
  const bool = (name: OptionName) => {
    const v = raw(name);
    if (v === undefined) return false;
    if (v === "1" || v === "true") return true;
    if (v === "0" || v === "false") return false;
    throw new UsageError(`Cannot read ${what(name)}: "${v.slice(0, 20)}" is not 1/true or 0/false`);
  };
  const secret = (name: "jwt-secret" | "cluster-secret") => {
    if (typeof parsed.values[name] === "string") warnings.push(`--${name} on the command line is visible to every local user (ps): use --${name}-file or ${OPTIONS[name].env}`);
    return secretValue(raw(name), raw(`${name}-file`), `the ${name.replace("-", " ")}`);
  };
  const host = raw("host") ?? "127.0.0.1";
  const jwtSecret = secret("jwt-secret");
  if (jwtSecret !== undefined && new TextEncoder().encode(jwtSecret).length < 32) {
    throw new UsageError("Cannot use the JWT secret: it must be at least 32 bytes (e.g. openssl rand -hex 32)");
  }
  if (!jwtSecret && !LOOPBACK.test(host)) {
    throw new UsageError(`Cannot serve on --host ${host} without a JWT secret: anyone reaching it could mint tokens. Give --jwt-secret-file (or STORM_JWT_SECRET), or listen on 127.0.0.1`);
  }
  const devTokens = bool("dev-tokens");
  const devAdmin = bool("dev-admin");
  if (devAdmin && jwtSecret && !devTokens) throw new UsageError("Cannot use --dev-admin: development tokens are off with a JWT secret (add --dev-tokens, for development only)");
  if (devAdmin) warnings.push("--dev-admin: POST /auth/dev-token mints ADMIN tokens for anyone who can reach this node (development only)");
  const leanEmbedded = bool("lean-embedded");
  if (leanEmbedded && raw("postgres") !== undefined) throw new UsageError("Cannot use --lean-embedded with --postgres: it shrinks the embedded store, which a PostgreSQL node does not run");
  const cluster = raw("cluster")?.split(",").map((s) => s.trim()).filter(Boolean);
  const config: NodeConfig = {
    nodeId: raw("node-id") ?? "n1",
    host,
    port: int("port", 8080),
    workers: int("workers", defaultWorkerCount()),
    dataDir: raw("data-dir") ?? ".data",
    postgresUrl: raw("postgres"),
    pgPoolSize: int("pg-pool", 4),
    leanEmbedded,
    jwtSecret,
    devTokens,
    devAdmin,
    cluster: cluster && cluster.length > 0 ? cluster : undefined,
    clusterName: raw("cluster-name") ?? "storm",
    clusterSecret: secret("cluster-secret"),
    advertise: raw("advertise"),
    leaseMs: int("lease-ms", 3_000),
    askTimeoutMs: int("ask-timeout-ms", 10_000),
    idlePassivateMs: int("idle-ms", 120_000),
    historySize: int("history", 2_000),
    maxBufferedBytes: int("max-buffered", 1024 * 1024),
    writeChunk: int("write-chunk", 100),
    heartbeatMs: int("heartbeat-ms", 45_000),
    authTimeoutMs: int("auth-timeout-ms", 10_000),
    retentionMaxAgeMs: duration(raw("retention-max-age"), what("retention-max-age")),
    retentionMaxCount: raw("retention-max-count") === undefined ? undefined : int("retention-max-count", 0),
    dedupeHorizonMs: duration(raw("dedupe-horizon"), what("dedupe-horizon")) ?? 60_000,
    webhookPollMs: int("webhook-poll-ms", 500),
    webhookLeaseMs: int("webhook-lease-ms", 10_000),
    webhookRetryBaseMs: int("webhook-retry-base-ms", 1_000),
    webhookRetryMaxMs: int("webhook-retry-max-ms", 300_000),
    syncQueueMax: int("sync-queue-max", 1_000),
    syncQueueAgeMs: int("sync-queue-age-ms", 5 * 60_000),
    testBrokenSseResume: bool("test-broken-sse-resume"),
    rateLimits: rateLimits((name) => raw(name)),
    logLevel: logLevel(raw("log-level")),
  };
  if (config.cluster && !config.postgresUrl) throw new UsageError("Cannot join a cluster without --postgres: PostgreSQL is the arbiter of ownership");
  if (config.cluster && !config.clusterSecret) throw new UsageError("Cannot join a cluster without a cluster secret (--cluster-secret-file or STORM_CLUSTER_SECRET): node links must authenticate");
  return { help: false, version: false, config, warnings };
}

function logLevel(v: string | undefined): LogLevel {
  if (v === undefined) return "info";
  if ((LOG_LEVELS as readonly string[]).includes(v)) return v as LogLevel;
  throw new UsageError(`Cannot read --log-level: "${v.slice(0, 20)}" is not one of ${LOG_LEVELS.join(", ")}`);
}

function rateLimits(raw: (name: OptionName) => string | undefined): RateLimitConfig {
  const all = raw("rate-limits") ?? "on";
  if (all !== "on" && all !== "off") throw new UsageError(`Cannot read --rate-limits: "${all.slice(0, 20)}" is not on or off`);
  const out = {} as RateLimitConfig;
  for (const [key, flag] of Object.entries(RATE_FLAGS) as Array<[keyof RateLimitConfig, OptionName]>) {
    try {
      out[key] = all === "off" ? undefined : parseRate(raw(flag) ?? DEFAULT_RATE_LIMITS[key], flag);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  return out;
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `12h`, `30d` or plain milliseconds; undefined when unset. `what`: the flag or variable. */
export function duration(v: string | undefined, what: string): number | undefined {
  if (v === undefined || v === "") return undefined;
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(v);
  if (!m) throw new UsageError(`Cannot read ${what}: "${v.slice(0, 20)}" is not a duration (e.g. 90s, 15m, 12h, 30d, or ms)`);
  return Number(m[1]) * UNITS[m[2] ?? "ms"]!;
}
