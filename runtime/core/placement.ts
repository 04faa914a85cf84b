import type { ActorId } from "./actor_id.ts";

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
    let h = 0x811c9dc5;
    for (let i = 0; i < id.length; i++) {
      h ^= id.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    return (h >>> 0) % workers;
  },
};
