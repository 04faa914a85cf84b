import type { Clock, Timer } from "../core/clock.ts";
import type { NodeLease, Registry } from "../core/registry.ts";

export interface LeaseKeeperOptions {
  registry: Registry;
  node: string;
  address: string;
  ttlMs: number;
  clock: Clock;
  load(): number;
  /** Called once when this node can no longer be sure it holds its lease: stop every actor now. */
  onLost(reason: string): void;
  /** Called after each renewal with the live nodes (this one included). */
  onLiveNodes(nodes: NodeLease[]): void;
  log(msg: string, err?: unknown): void;
}

/**
 * Keeps this node's lease in the registry. The lease is renewed every third of its TTL; the node's
 * own deadline is the TTL measured from the *start* of the last successful renewal, so it always
 * falls before the registry can expire the lease. Each tick checks the deadline BEFORE renewing:
 * a process resumed after a pause (SIGSTOP, GC, VM freeze) past its deadline gives up its actors
 * instead of renewing as if nothing happened, since others may already have taken them over.
 */
export class LeaseKeeper {
  readonly #o: LeaseKeeperOptions;
  #validUntil = 0;
  #timer: Timer | undefined;
  #renewing = false;
  #lost = false;
  /** Successful renewals (`storm_lease_renewals_total`). */
  renewals = 0;

  constructor(o: LeaseKeeperOptions) {
    this.#o = o;
  }

  get lost(): boolean {
    return this.#lost;
  }

  /** True while the lease is held: the last renewal (a registry round trip) is within its TTL. */
  get held(): boolean {
    return !this.#lost && this.#o.clock.now() < this.#validUntil;
  }

  /** Takes the lease for the first time; throws if the registry is unreachable. */
  async start(): Promise<void> {
    await this.#renew();
    this.#timer = this.#o.clock.setInterval(() => this.#tick(), Math.max(50, Math.floor(this.#o.ttlMs / 3)));
  }

  async stop(): Promise<void> {
    this.#timer?.cancel();
    if (!this.#lost) await this.#o.registry.dropLease(this.#o.node).catch(() => {});
  }

  #tick(): void {
    if (this.#lost) return;
    if (this.#o.clock.now() >= this.#validUntil) {
      this.#lost = true;
      this.#timer?.cancel();
      this.#o.onLost(`lease not renewed before its deadline (${this.#o.clock.now() - this.#validUntil} ms late)`);
      return;
    }
    if (this.#renewing) return;
    this.#renewing = true;
    this.#renew()
      .catch((err) => this.#o.log("lease renewal failed", err))
      .finally(() => (this.#renewing = false));
  }

  async #renew(): Promise<void> {
    const started = this.#o.clock.now();
    const lease: NodeLease = { node: this.#o.node, address: this.#o.address, renewedAt: started, load: this.#o.load() };
    await this.#o.registry.renewLease(lease, this.#o.ttlMs);
    if (this.#lost) return;
    this.renewals++;
    this.#validUntil = started + this.#o.ttlMs;
    this.#o.onLiveNodes(await this.#o.registry.liveNodes());
  }
}
