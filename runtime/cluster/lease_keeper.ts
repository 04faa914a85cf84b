import type { Clock, Timer } from "../core/clock.ts";
import type { NodeLease, Registry } from "../core/registry.ts";

export interface LeaseKeeperOptions {
  registry: Registry;
  /** The first incarnation's id. */
  node: string;
  address: string;
  ttlMs: number;
  clock: Clock;
  load(): number;
  /** A fresh incarnation id for a rejoin: never one used before (peers keep dead ids dead). */
  nextIncarnation(): string;
  /**
   * The lease can no longer be trusted: stop every actor now, fail what is in flight, refuse new
   * work. The keeper retries a lease under a new incarnation only once this has settled.
   */
  onLost(reason: string): Promise<void> | void;
  /**
   * A lease is held again, under `node` (`old` is dead for good): resume service. `live` is the
   * lease table read right after, this node included.
   */
  onRejoined(node: string, old: string, live: NodeLease[]): Promise<void> | void;
  /** Called after each renewal with the live nodes (this one included). */
  onLiveNodes(nodes: NodeLease[]): void;
  /** `onLost` or `onRejoined` failed: the node cannot continue in place. */
  onFatal(err: unknown): void;
  log(msg: string, err?: unknown): void;
}

export type LeaseState = "held" | "rejoining" | "stopped";

/**
 * Keeps this node's lease in the registry. The lease is renewed every third of its TTL; the node's
 * own deadline is the TTL measured from the *start* of the last successful renewal, so it always
 * falls before the registry can expire the lease. Each tick checks the deadline BEFORE renewing:
 * a process resumed after a pause (SIGSTOP, GC, VM freeze) past its deadline, or one that could
 * not reach the registry in time (a Hazelcast restart), gives up its actors instead of renewing as
 * if nothing happened, since others may already have taken them over.
 *
 * Losing the lease is not the end of the process: the node drops its actors (`onLost`) and takes
 * a lease again under a new incarnation id, retrying with backoff until the registry answers
 * (`onRejoined`). Safety never rested on the lease (every activation's epoch in the store fences
 * the previous one); the lease only says where to send work.
 */
export class LeaseKeeper {
  readonly #o: LeaseKeeperOptions;
  #node: string;
  #validUntil = 0;
  #timer: Timer | undefined;
  #renewing = false;
  #state: LeaseState = "held";
  /** Successful renewals (`storm_lease_renewals_total`). */
  renewals = 0;
  /** Leases lost (`storm_lease_lost_total`). */
  losses = 0;
  /** Leases taken again under a new incarnation (`storm_rejoins_total`). */
  rejoins = 0;

  constructor(o: LeaseKeeperOptions) {
    this.#o = o;
    this.#node = o.node;
  }

  get state(): LeaseState {
    return this.#state;
  }

  /** The incarnation id the lease is (or was last) held under. */
  get node(): string {
    return this.#node;
  }

  /** True while the lease is held: the last renewal (a registry round trip) is within its TTL. */
  get held(): boolean {
    return this.#state === "held" && this.#o.clock.now() < this.#validUntil;
  }

  /** Takes the lease for the first time; throws if the registry is unreachable. */
  async start(): Promise<void> {
    await this.#renew();
    this.#schedule();
  }

  async stop(): Promise<void> {
    // A rejoin may have written a lease under the new id already: give that back too.
    const held = this.#state !== "stopped";
    this.#state = "stopped";
    this.#timer?.cancel();
    if (held) await this.#o.registry.dropLease(this.#node).catch(() => {});
  }

  #schedule(): void {
    this.#timer = this.#o.clock.setInterval(() => this.#tick(), this.#period());
  }

  #period(): number {
    return Math.max(50, Math.floor(this.#o.ttlMs / 3));
  }

  #tick(): void {
    if (this.#state !== "held") return;
    if (this.#o.clock.now() >= this.#validUntil) {
      void this.#lose(`lease not renewed before its deadline (${this.#o.clock.now() - this.#validUntil} ms late)`);
      return;
    }
    if (this.#renewing) return;
    this.#renewing = true;
    this.#renew()
      .catch((err) => this.#o.log("lease renewal failed", err))
      .finally(() => (this.#renewing = false));
  }

  async #renew(): Promise<void> {
    const node = this.#node;
    const started = this.#o.clock.now();
    await this.#o.registry.renewLease(this.#lease(node, started), this.#o.ttlMs);
    if (this.#state !== "held" || node !== this.#node) return;
    this.renewals++;
    this.#validUntil = started + this.#o.ttlMs;
    this.#o.onLiveNodes(await this.#o.registry.liveNodes());
  }

  async #lose(reason: string): Promise<void> {
    this.#state = "rejoining";
    this.losses++;
    this.#timer?.cancel();
    try {
      await this.#o.onLost(reason);
    } catch (err) {
      return this.#o.onFatal(err);
    }
    const old = this.#node;
    const next = this.#o.nextIncarnation();
    let backoff = this.#period();
    let late = 0;
    for (let attempt = 1; this.#state === "rejoining"; attempt++) {
      const live = await this.#tryLease(next, old).catch((err: unknown) => {
        // One line per outage and then one every few attempts, not one per attempt.
        if (attempt === 1 || attempt % 10 === 0) this.#o.log(`rejoin as ${next}: no lease yet (attempt ${attempt})`, err);
        return undefined;
      });
      // A registry that answers, slowly (a starved member or node): try again at once, a few times,
      // rather than serve with a lease already half gone and lose it again at the next tick.
      if (live === "late" && ++late <= 3) continue;
      if (live && live !== "late") return this.#rejoined(next, old, live);
      await this.#sleep(backoff);
      backoff = Math.min(backoff * 2, Math.max(this.#period(), 2_000));
    }
  }

  /**
   * One attempt at a lease under `node`: the live list, or `late` when the round trips took more
   * than half the TTL (the client retried through an outage, or the registry is starved): such a
   * lease would be lost again before its first renewal.
   */
  async #tryLease(node: string, old: string): Promise<NodeLease[] | "late"> {
    const started = this.#o.clock.now();
    const late = () => this.#o.clock.now() - started > this.#o.ttlMs / 2;
    await this.#o.registry.renewLease(this.#lease(node, started), this.#o.ttlMs);
    if (late()) return "late";
    // The old incarnation is gone for good: peers that still list it take its actors over now.
    await this.#o.registry.dropLease(old);
    const live = await this.#o.registry.liveNodes();
    if (late()) return "late";
    this.#validUntil = started + this.#o.ttlMs;
    return live;
  }

  async #rejoined(node: string, old: string, live: NodeLease[]): Promise<void> {
    if (this.#state !== "rejoining") return;
    this.#node = node;
    try {
      await this.#o.onRejoined(node, old, live);
    } catch (err) {
      return this.#o.onFatal(err);
    }
    if (this.#state !== "rejoining") return;
    this.#state = "held";
    this.renewals++;
    this.rejoins++;
    this.#schedule();
    // Starting the workers and resuming the streams took loop time: renew now, not a period later.
    this.#tick();
  }

  #lease(node: string, renewedAt: number): NodeLease {
    return { node, address: this.#o.address, renewedAt, load: this.#o.load() };
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#o.clock.setTimeout(resolve, ms));
  }
}
