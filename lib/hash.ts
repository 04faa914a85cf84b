/**
 * FNV-1a over a string's UTF-16 code units, as an unsigned 32-bit integer: cheap, and stable
 * across processes, runtimes and versions (placement and lanes depend on every thread and node
 * computing the same value).
 */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * `fnv1a` followed by murmur3's finalizer (an avalanche), so that strings differing in one
 * character differ in every bit: for weights compared across strings and for a hash table's low
 * bits.
 */
export function fnv1aMixed(s: string): number {
  let h = fnv1a(s);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
