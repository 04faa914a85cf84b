import type { ActorId } from "./actor_id.ts";
import type { Clock } from "./clock.ts";
import { decodePlacement, encodePlacement, type NodeLease, type Placement, type Registry, type WatchOptions } from "./registry.ts";

/** The in-process registry: the embedded default, and the reference the Hazelcast one must match. */
export class MemoryRegistry implements Registry {
  readonly #placements = new Map<ActorId, string>();
  readonly #leases = new Map<string, { lease: NodeLease; expiresAt: number }>();
  /** Each watcher with the kinds whose claims it is not told of. */
  readonly #watchers = new Map<(id: ActorId, p: Placement | null) => void, readonly string[]>();

  constructor(private readonly clock: Clock) {}

  async lookup(id: ActorId): Promise<Placement | null> {
    const s = this.#placements.get(id);
    return s === undefined ? null : decodePlacement(s);
  }

  async claim(id: ActorId, p: Placement): Promise<Placement> {
    const s = this.#placements.get(id);
    if (s !== undefined) return decodePlacement(s);
    this.#placements.set(id, encodePlacement(p));
    this.#notify(id, p, id.slice(0, Math.max(0, id.indexOf(":"))));
    return p;
  }

  async replace(id: ActorId, expected: Placement, next: Placement): Promise<boolean> {
    if (this.#placements.get(id) !== encodePlacement(expected)) return false;
    this.#placements.set(id, encodePlacement(next));
    this.#notify(id, next);
    return true;
  }

  async release(id: ActorId, expected: Placement): Promise<boolean> {
    if (this.#placements.get(id) !== encodePlacement(expected)) return false;
    this.#placements.delete(id);
    this.#notify(id, null);
    return true;
  }

  async list(prefix = ""): Promise<Array<{ id: ActorId; placement: Placement }>> {
    return [...this.#placements.entries()]
      .filter(([id]) => id.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, s]) => ({ id, placement: decodePlacement(s) }));
  }

  async renewLease(lease: NodeLease, ttlMs: number): Promise<void> {
    this.#leases.set(lease.node, { lease: { ...lease }, expiresAt: this.clock.now() + ttlMs });
  }

  async dropLease(node: string): Promise<void> {
    this.#leases.delete(node);
  }

  async liveNodes(): Promise<NodeLease[]> {
    const now = this.clock.now();
    return [...this.#leases.values()].filter((l) => l.expiresAt > now).map((l) => l.lease).sort((a, b) => (a.node < b.node ? -1 : 1));
  }

  async watch(fn: (id: ActorId, p: Placement | null) => void, options: WatchOptions = {}): Promise<() => Promise<void>> {
    this.#watchers.set(fn, options.quietClaims ?? []);
    return async () => void this.#watchers.delete(fn);
  }

  async close(): Promise<void> {
    this.#watchers.clear();
  }

  /** Delivered asynchronously, like a remote registry's events; `claimed`: the kind of a claimed actor. */
  #notify(id: ActorId, p: Placement | null, claimed?: string): void {
    for (const [fn, quiet] of this.#watchers) {
      if (claimed === undefined || !quiet.includes(claimed)) void Promise.resolve().then(() => fn(id, p));
    }
  }
}
