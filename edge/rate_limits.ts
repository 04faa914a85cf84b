import { StormError } from "../runtime/core/errors.ts";
import type { Clock } from "../runtime/core/clock.ts";
import { KeyedBuckets, type Rate, TokenBucket } from "./token_bucket.ts";

/** A request refused by a rate limit: `rate_limited`, with when to retry (`Retry-After`, `retryMs`). */
export class RateLimitedError extends StormError {
  constructor(what: string, readonly retryMs: number) {
    super("rate_limited", `Too many ${what}; retry in ${retryMs} ms`);
  }
}

/** Which limit refused (`storm_rate_limited_total{scope}`). */
export type RateLimitScope = "publish_user" | "publish_conn" | "request_user" | "api_user" | "request_ip" | "connect_ip" | "connect_user";

/** Every limit, each `undefined` when off (`--rl-<name> off`). */
export interface RateLimitConfig {
  /** `/api/*` requests per user (seed 004: 1,000 per 15 minutes). */
  apiUser: Rate | undefined;
  /** Other requests per user: REST routes, WebSocket and `POST /cmd` frames other than publishes, long-polls. */
  requestUser: Rate | undefined;
  /** HTTP requests per client IP, every route. */
  requestIp: Rate | undefined;
  /** Publishes per user, every transport. */
  publishUser: Rate | undefined;
  /** Publishes per WebSocket connection. */
  publishConn: Rate | undefined;
  /** New connections (WebSocket upgrades, SSE streams) per client IP, before authentication. */
  connectIp: Rate | undefined;
  /** New connections per user. */
  connectUser: Rate | undefined;
}

/** The state a connection keeps for its own publish limit (allocated at its first publish). */
export interface LimitedConnection {
  pubBucket?: TokenBucket;
  /**
   * When the connection's last message arrived (the edge sets it per message): the time of a
   * publish on it, without reading the clock again on the hot path (~120 ns here).
   */
  lastSeen: number;
}

/**
 * Storm's rate limits: token buckets per user, per IP and per connection, for publishes, other
 * requests and new connections. Each check answers nothing or throws `RateLimitedError`. In a
 * cluster a user's (or an IP's) limit is divided among the live nodes: each node enforces
 * `limit / liveNodes` (from the lease table), so a client spread over every node gets the limit in
 * total, and one pinned to a node gets its share. Per-connection limits are whole (a connection
 * lives on one node).
 */
export class RateLimits {
  readonly #apiUser: KeyedBuckets | undefined;
  readonly #requestUser: KeyedBuckets | undefined;
  readonly #requestIp: KeyedBuckets | undefined;
  readonly #publishUser: KeyedBuckets | undefined;
  readonly #connectIp: KeyedBuckets | undefined;
  readonly #connectUser: KeyedBuckets | undefined;
  readonly #publishConn: Rate | undefined;
  #share = 1;

  constructor(
    cfg: RateLimitConfig,
    private readonly clock: Clock,
    /** Told of every refusal, with its limit (metrics). */
    private readonly onRefused: (scope: RateLimitScope) => void = () => {},
  ) {
    const keyed = (r: Rate | undefined) => (r ? new KeyedBuckets(r) : undefined);
    this.#apiUser = keyed(cfg.apiUser);
    this.#requestUser = keyed(cfg.requestUser);
    this.#requestIp = keyed(cfg.requestIp);
    this.#publishUser = keyed(cfg.publishUser);
    this.#connectIp = keyed(cfg.connectIp);
    this.#connectUser = keyed(cfg.connectUser);
    this.#publishConn = cfg.publishConn;
  }

  /** Live nodes sharing the cluster-wide limits (1 outside a cluster). */
  setLiveNodes(n: number): void {
    this.#share = 1 / Math.max(1, n);
  }

  /** A publish, from any transport; `conn` when it came on a WebSocket. */
  publish(user: string, conn?: LimitedConnection): void {
    if (!this.#publishUser && !this.#publishConn) return;
    const now = conn ? conn.lastSeen : this.clock.now();
    if (conn && this.#publishConn) {
      const wait = (conn.pubBucket ??= new TokenBucket(this.#publishConn.count, now)).take(this.#publishConn, 1, now);
      if (wait > 0) {
        this.onRefused("publish_conn");
        throw new RateLimitedError("publishes on this connection", wait);
      }
    }
    this.#take(this.#publishUser, "publish_user", user, "publishes by this user", now);
  }

  /** A request other than a publish (a frame, a REST route, a long-poll). */
  request(user: string): void {
    this.#take(this.#requestUser, "request_user", user, "requests by this user", this.clock.now());
  }

  /** An `/api/*` request (seed 004's limit). */
  api(user: string): void {
    this.#take(this.#apiUser, "api_user", user, "/api requests by this user", this.clock.now());
  }

  /** Any HTTP request, before anything else is read. */
  httpFrom(ip: string): void {
    this.#take(this.#requestIp, "request_ip", ip, "requests from this address", this.clock.now());
  }

  /** Whether `connectFrom` limits anything: when not, the caller need not read the peer's address (a syscall). */
  get limitsConnectsByIp(): boolean {
    return this.#connectIp !== undefined;
  }

  /** A connection attempt, before authentication. */
  connectFrom(ip: string): void {
    this.#take(this.#connectIp, "connect_ip", ip, "connections from this address", this.clock.now());
  }

  /** An authenticated connection attempt. */
  connectAs(user: string): void {
    this.#take(this.#connectUser, "connect_user", user, "connections by this user", this.clock.now());
  }

  /** Forgets full buckets (call now and then: idle users and addresses then cost nothing). */
  sweep(): void {
    const now = this.clock.now();
    for (const b of [this.#apiUser, this.#requestUser, this.#requestIp, this.#publishUser, this.#connectIp, this.#connectUser]) b?.sweep(this.#share, now);
  }

  #take(b: KeyedBuckets | undefined, scope: RateLimitScope, key: string, what: string, now: number): void {
    if (!b) return;
    const wait = b.take(key, this.#share, now);
    if (wait > 0) {
      this.onRefused(scope);
      throw new RateLimitedError(what, wait);
    }
  }
}

/** Seed 004's `/api/*` limit and the other defaults (see docs/PROTOCOL.md "Rate limits"). */
export const DEFAULT_RATE_LIMITS: Record<keyof RateLimitConfig, string> = {
  apiUser: "1000/900",
  requestUser: "6000/60",
  requestIp: "30000/60",
  publishUser: "3000/10",
  publishConn: "2000/10",
  connectIp: "1200/60",
  connectUser: "120/60",
};
