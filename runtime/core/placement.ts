import type { ActorId } from "./actor_id.ts";
import { fnv1a } from "../../lib/hash.ts";

/**
 * Where an actor lives inside a node. A strategy is pure data-in, index-out: the same id always maps
 * to the same worker while the worker count is unchanged, so every thread can route without asking.
 */
export interface PlacementStrategy {
  readonly name: string;
  place(id: ActorId, workers: number): number;
}

/** FNV-1a over the id: cheap, stable across processes and runtimes, evenly spread. */
export const hashPlacement: PlacementStrategy = {
  name: "hash",
  place(id, workers) {
    return fnv1a(id) % workers;
  },
};
