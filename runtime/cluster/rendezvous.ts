import { fnv1aMixed } from "../../lib/hash.ts";

/**
 * Rendezvous (highest-random-weight) hashing: every node computes the same owner for an actor from
 * the same set of live nodes, and losing a node moves only the actors it owned.
 */
export function rendezvous(id: string, nodes: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const node of nodes) {
    const w = fnv1aMixed(`${node}\u0000${id}`);
    if (w > bestWeight || (w === bestWeight && best !== undefined && node < best)) {
      best = node;
      bestWeight = w;
    }
  }
  return best;
}
