import type { ActorId } from "./actor_id.ts";

/** Where an activation lives. Stored as a canonical string so compare-and-set compares exactly. */
export interface Placement {
  node: string;
  worker: number;
  epoch: number;
}

export interface NodeLease {
  node: string;
  /** Where other nodes reach this one (node-to-node link URL). */
  address: string;
  /** Wall-clock ms when the lease was last renewed, as written by the node. */
  renewedAt: number;
  load: number;
}

/**
 * The placement directory: actor id -> placement, and node id -> lease.
 *
 * Guarantees every implementation gives (checked by `registry_conformance.ts`):
 * - `claim` is atomic per actor: of concurrent claims on an absent id exactly one wins, and every
 *   caller learns the winner.
 * - `replace` and `release` are compare-and-set on the exact stored placement: they fail when the
 *   placement changed since it was read.
 * - A lease not renewed within its TTL disappears from `liveNodes`.
 * It does NOT give fencing: two nodes may believe they own an actor for a while. The store's epochs
 * decide who may write (see `storage/store.ts`).
 */
export interface Registry {
  lookup(id: ActorId): Promise<Placement | null>;
  /** Stores `p` if the id has no placement; returns the placement in force afterwards. */
  claim(id: ActorId, p: Placement): Promise<Placement>;
  replace(id: ActorId, expected: Placement, next: Placement): Promise<boolean>;
  release(id: ActorId, expected: Placement): Promise<boolean>;
  /** Placements whose actor id starts with `prefix`, sorted by id. */
  list(prefix?: string): Promise<Array<{ id: ActorId; placement: Placement }>>;
  renewLease(lease: NodeLease, ttlMs: number): Promise<void>;
  dropLease(node: string): Promise<void>;
  liveNodes(): Promise<NodeLease[]>;
  /**
   * Calls `fn` after placements change (claimed, replaced, released), with the new placement or
   * null. A hint for invalidating caches and resubscribing, not a source of truth: events may be
   * late, and a reader must still read the registry (and the store decides who may write).
   * Returns a function that stops the watch.
   */
  watch(fn: (id: ActorId, placement: Placement | null) => void, options?: WatchOptions): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface WatchOptions {
  /**
   * Actor kinds (`session`) whose claims are not reported; their replacements and releases are.
   * A claim names the node that made it, which learns the placement from the claim's answer; the
   * others have nothing of the actor to drop. Reporting it costs the registry an event to every
   * watcher per claim: per connection, for a kind claimed at connect.
   */
  quietClaims?: readonly string[];
}

/** Canonical encoding: fixed key order, so equal placements are equal strings. */
export function encodePlacement(p: Placement): string {
  return JSON.stringify([p.node, p.worker, p.epoch]);
}

export function decodePlacement(s: string): Placement {
  const [node, worker, epoch] = JSON.parse(s) as [string, number, number];
  return { node, worker, epoch };
}
