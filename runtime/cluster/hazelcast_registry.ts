import { Client, Predicates } from "hazelcast-client";
import type { IMap } from "hazelcast-client";
import type { ActorId } from "../core/actor_id.ts";
import { decodePlacement, encodePlacement, type NodeLease, type Placement, type Registry, type WatchOptions } from "../core/registry.ts";

type HazelcastClient = Awaited<ReturnType<typeof Client.newHazelcastClient>>;

export interface HazelcastRegistryOptions {
  /**
   * Prefix of the IMap names (`<prefix>.placements`, `<prefix>.nodes`), so that several Storm
   * clusters can share one Hazelcast cluster. Default `storm`.
   */
  prefix?: string;
}

export interface HazelcastConnectOptions extends HazelcastRegistryOptions {
  clusterName: string;
  /** Member addresses, `host:port`, e.g. `["127.0.0.1:5701"]`. */
  members: string[];
  /**
   * The client declares a member connection dead after this long without a heartbeat answer
   * (Hazelcast's default is 60 s, far too long for lease renewal). Default 5000.
   */
  heartbeatTimeoutMs?: number;
  /** Heartbeat period. Default 1000, and at most a third of the timeout. */
  heartbeatIntervalMs?: number;
  /**
   * Give up the first connect after this long. Default 10000. Once connected, the client never
   * gives up reconnecting: a member restart may take half a minute, and a client that shut itself
   * down would leave the node unable to ever take a lease again.
   */
  connectTimeoutMs?: number;
  /**
   * An operation that cannot complete (member down, reconnecting) fails after this long instead
   * of Hazelcast's default 120 s. Default 10000.
   */
  invocationTimeoutMs?: number;
  /** hazelcast-client's own log level. Default `WARN` (its `INFO` logs every connection). */
  logLevel?: "OFF" | "ERROR" | "WARN" | "INFO" | "DEBUG" | "TRACE";
}

/**
 * Hazelcast's per-entry TTL has a resolution of one second, and the member truncates the expiry
 * instant to a whole second: measured on 5.7.0, an entry written with TTL T disappears between
 * T - 1000 ms and T ms after the write (a 1000 ms TTL lived 519..1019 ms). A lease that vanishes
 * before its holder's own deadline would let another node take over early, so the TTL sent is
 * rounded up to whole seconds plus one: the lease then lives at least `ttlMs` and at most
 * `ttlMs + 2000` ms after `renewLease` returns (the benign direction: slower failover).
 */
export function hazelcastLeaseTtl(ttlMs: number): number {
  return Math.ceil(ttlMs / 1000) * 1000 + 1000;
}

/**
 * The cluster-mode `Registry`, on two Hazelcast IMaps (see docs/GUARANTEES.md, "Registry and fencing"):
 * - `<prefix>.placements`: actor id -> canonical placement string (`encodePlacement`). Claim is
 *   `putIfAbsent`, takeover `replaceIfSame`, release a conditional `remove`; Hazelcast compares
 *   the serialized values, so canonical strings make compare-and-set exact.
 * - `<prefix>.nodes`: node id -> lease JSON, written with a per-entry TTL; `liveNodes` reads the
 *   values. Expired entries are invisible to reads at once (checked on read, not only by the
 *   member's background sweep).
 *
 * Per-key operations are atomic on the partition owner; nothing here is a fence (no CP subsystem
 * in the open-source edition): PostgreSQL epochs decide who may write.
 */
export class HazelcastRegistry implements Registry {
  readonly #client: HazelcastClient;
  readonly #ownsClient: boolean;
  readonly #placements: IMap<string, string>;
  readonly #nodes: IMap<string, string>;
  #closed = false;

  private constructor(client: HazelcastClient, ownsClient: boolean, placements: IMap<string, string>, nodes: IMap<string, string>) {
    this.#client = client;
    this.#ownsClient = ownsClient;
    this.#placements = placements;
    this.#nodes = nodes;
  }

  /** Connects a new client; `close()` shuts it down. */
  static async connect(opts: HazelcastConnectOptions): Promise<HazelcastRegistry> {
    const heartbeatTimeout = opts.heartbeatTimeoutMs ?? 5_000;
    const heartbeatInterval = Math.min(opts.heartbeatIntervalMs ?? 1_000, Math.max(100, Math.floor(heartbeatTimeout / 3)));
    const connectTimeout = opts.connectTimeoutMs ?? 10_000;
    let connected!: () => void;
    const isConnected = new Promise<void>((resolve) => (connected = resolve));
    const client = await Client.newHazelcastClient({
      clusterName: opts.clusterName,
      network: { clusterMembers: opts.members, connectionTimeout: Math.min(5_000, connectTimeout) },
      // Started in the background and awaited below, so that the first connect has a deadline
      // while reconnects (the same setting) retry forever.
      lifecycleListeners: [(state) => {
        if (state === "CONNECTED") connected();
      }],
      connectionStrategy: {
        asyncStart: true,
        connectionRetry: {
          clusterConnectTimeoutMillis: -1,
          initialBackoffMillis: 100,
          maxBackoffMillis: 2_000,
        },
      },
      properties: {
        "hazelcast.client.heartbeat.timeout": heartbeatTimeout,
        "hazelcast.client.heartbeat.interval": heartbeatInterval,
        "hazelcast.client.invocation.timeout.millis": opts.invocationTimeoutMs ?? 10_000,
        "hazelcast.logging.level": opts.logLevel ?? "WARN",
      },
    });
    try {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Cannot reach a Hazelcast member of cluster "${opts.clusterName}" at ${opts.members.join(", ")} within ${connectTimeout} ms`)), connectTimeout);
      });
      await Promise.race([isConnected, timeout]).finally(() => clearTimeout(timer));
      return await HazelcastRegistry.#open(client, true, opts);
    } catch (err) {
      await client.shutdown().catch(() => {});
      throw err;
    }
  }

  /** A registry on a client the caller owns: `close()` leaves the client connected. */
  static async fromClient(client: HazelcastClient, opts: HazelcastRegistryOptions = {}): Promise<HazelcastRegistry> {
    return HazelcastRegistry.#open(client, false, opts);
  }

  static async #open(client: HazelcastClient, owns: boolean, opts: HazelcastRegistryOptions): Promise<HazelcastRegistry> {
    const prefix = opts.prefix ?? "storm";
    if (!/^[A-Za-z0-9_.-]+$/.test(prefix)) throw new Error(`Invalid Hazelcast map prefix "${prefix}"`);
    const placements = await client.getMap<string, string>(`${prefix}.placements`);
    const nodes = await client.getMap<string, string>(`${prefix}.nodes`);
    return new HazelcastRegistry(client, owns, placements, nodes);
  }

  async lookup(id: ActorId): Promise<Placement | null> {
    const s = await this.#placements.get(id);
    return s == null ? null : decodePlacement(s);
  }

  async claim(id: ActorId, p: Placement): Promise<Placement> {
    // putIfAbsent returns the previous value: null when this call stored `p`.
    const prev = await this.#placements.putIfAbsent(id, encodePlacement(p));
    return prev == null ? p : decodePlacement(prev);
  }

  async replace(id: ActorId, expected: Placement, next: Placement): Promise<boolean> {
    return this.#placements.replaceIfSame(id, encodePlacement(expected), encodePlacement(next));
  }

  async release(id: ActorId, expected: Placement): Promise<boolean> {
    // With a value, IMap.remove is conditional and resolves to a boolean.
    return (await this.#placements.remove(id, encodePlacement(expected))) === true;
  }

  /**
   * Cost: a query on every member, scanning every placement entry (no index on the key): O(map
   * size) work per call, plus transfer of the matching entries. For administration and recovery
   * paths, not per-message work. An empty prefix returns the whole map.
   */
  async list(prefix = ""): Promise<Array<{ id: ActorId; placement: Placement }>> {
    const entries = prefix === ""
      ? await this.#placements.entrySet()
      : await this.#placements.entrySetWithPredicate(Predicates.regex("__key", `${quoteJavaRegex(prefix)}[\\s\\S]*`));
    return entries
      .filter(([id]) => id.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, s]) => ({ id, placement: decodePlacement(s) }));
  }

  async renewLease(lease: NodeLease, ttlMs: number): Promise<void> {
    if (!(ttlMs > 0)) throw new RangeError(`Lease TTL must be positive, got ${ttlMs}`);
    const value = JSON.stringify({ node: lease.node, address: lease.address, renewedAt: lease.renewedAt, load: lease.load });
    await this.#nodes.set(lease.node, value, hazelcastLeaseTtl(ttlMs));
  }

  async dropLease(node: string): Promise<void> {
    await this.#nodes.delete(node);
  }

  async liveNodes(): Promise<NodeLease[]> {
    const values = await this.#nodes.values();
    const leases: NodeLease[] = [];
    for (const v of values) leases.push(JSON.parse(v) as NodeLease);
    return leases.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }

  /**
   * One entry listener, or with `quietClaims` two: every event of the other kinds' entries, and
   * all but `added` of the quiet kinds' (the client subscribes to the event types its listener
   * handles, and the member filters by key before sending anything).
   */
  async watch(fn: (id: ActorId, p: Placement | null) => void, options: WatchOptions = {}): Promise<() => Promise<void>> {
    const set = (e: { key: string; value: string | null }) => fn(e.key, e.value ? decodePlacement(e.value) : null);
    const gone = (e: { key: string }) => fn(e.key, null);
    const quiet = options.quietClaims ?? [];
    for (const k of quiet) if (!/^[a-z][a-z0-9-]*$/.test(k)) throw new Error(`Cannot watch with quiet claims of kind "${k}": a kind here is [a-z][a-z0-9-]* (a LIKE pattern)`);
    if (quiet.length === 0) {
      const reg = await this.#placements.addEntryListener({ added: set, updated: set, removed: gone, evicted: gone, expired: gone }, undefined, true);
      return async () => void (await this.#placements.removeEntryListener(reg));
    }
    const ofQuiet = Predicates.or(...quiet.map((k) => Predicates.like("__key", `${k}:%`)));
    const regs = [
      await this.#placements.addEntryListenerWithPredicate({ added: set, updated: set, removed: gone, evicted: gone, expired: gone }, Predicates.not(ofQuiet), undefined, true),
      await this.#placements.addEntryListenerWithPredicate({ updated: set, removed: gone, evicted: gone, expired: gone }, ofQuiet, undefined, true),
    ];
    return async () => void (await Promise.all(regs.map((r) => this.#placements.removeEntryListener(r))));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsClient) await this.#client.shutdown();
  }
}

/** `java.util.regex.Pattern.quote`: the literal text, even when it contains `\E`. */
function quoteJavaRegex(s: string): string {
  return `\\Q${s.replaceAll("\\E", "\\E\\\\E\\Q")}\\E`;
}
