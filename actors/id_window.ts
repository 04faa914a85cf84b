import { fnv1aMixed } from "../lib/hash.ts";

/**
 * The client ids of a channel's last `capacity` distinct publishes, each with its seq: the memory
 * half of exactly-once append (G3); ids older than the window are found by the journal's unique
 * index instead. An id already held keeps its place when set again, and once full, each new id
 * replaces the oldest.
 *
 * Not a `Map`: on the actor worker's hot path (one lookup and one insert per publish, and a delete
 * once full), V8's ordered hash table cost a fifth of the worker's CPU under load (perf, 100
 * channels of 20,000 ids): each delete leaves a hole until the table is rebuilt, and each rebuild
 * allocates a new table of ~1 MB. Here the ids stay in a ring in arrival order, and an
 * open-addressing index (linear probing, backward-shift deletion, so never a tombstone nor a
 * rebuild once grown) maps an id's hash to its ring slot. The index grows with the ids held, up to
 * a load of one half, so a channel that saw few ids holds a small one.
 */
export class IdWindow {
  /** The ring: id, seq and hash of each held id; oldest at `#head` once full. */
  #ids: string[] = [];
  #seqs: number[] = [];
  #hashes: number[] = [];
  #head = 0;
  /** Ring index + 1 of the id whose hash probes here first (or after a collision); 0 = empty. */
  #slots = new Int32Array(16);
  #mask = 15;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.#ids.length;
  }

  get(id: string): number | undefined {
    if (this.#ids.length === 0) return undefined;
    const r = this.#find(id, hashOf(id));
    return r < 0 ? undefined : this.#seqs[r];
  }

  set(id: string, seq: number): void {
    if (this.capacity <= 0) return;
    const h = hashOf(id);
    const known = this.#find(id, h);
    if (known >= 0) {
      this.#seqs[known] = seq;
      return;
    }
    if (this.#ids.length < this.capacity) {
      const r = this.#ids.length;
      this.#ids.push(id);
      this.#seqs.push(seq);
      this.#hashes.push(h);
      if (this.#ids.length * 2 > this.#slots.length) this.#grow();
      else this.#index(r, h);
      return;
    }
    const r = this.#head;
    this.#unindex(r);
    this.#ids[r] = id;
    this.#seqs[r] = seq;
    this.#hashes[r] = h;
    this.#index(r, h);
    this.#head = r + 1 === this.capacity ? 0 : r + 1;
  }

  /** Ring index of `id` (hash `h`), or -1. */
  #find(id: string, h: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const v = slots[s]!;
      if (v === 0) return -1;
      if (this.#hashes[v - 1] === h && this.#ids[v - 1] === id) return v - 1;
    }
  }

  #index(r: number, h: number): void {
    const slots = this.#slots;
    const mask = this.#mask;
    let s = h & mask;
    while (slots[s] !== 0) s = (s + 1) & mask;
    slots[s] = r + 1;
  }

  /** Removes ring slot `r` from the index, shifting back the entries probed past it. */
  #unindex(r: number): void {
    const slots = this.#slots;
    const mask = this.#mask;
    let hole = this.#hashes[r]! & mask;
    while (slots[hole] !== r + 1) hole = (hole + 1) & mask;
    for (let j = (hole + 1) & mask; ; j = (j + 1) & mask) {
      const v = slots[j]!;
      if (v === 0) break;
      const home = this.#hashes[v - 1]! & mask;
      // The entry at j may fill the hole when the hole lies on its probe path (from home to j).
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        slots[hole] = v;
        hole = j;
      }
    }
    slots[hole] = 0;
  }

  #grow(): void {
    let size = this.#slots.length * 2;
    while (size < this.#ids.length * 2) size *= 2;
    this.#slots = new Int32Array(size);
    this.#mask = size - 1;
    for (let r = 0; r < this.#ids.length; r++) this.#index(r, this.#hashes[r]!);
  }
}

/** The index's hash of an id, kept a small integer (V8 stores it unboxed in `#hashes`). */
function hashOf(s: string): number {
  return fnv1aMixed(s) & 0x3fffffff;
}
