import { type JournalEntry, tombstoneOf } from "../storage/store.ts";
import { IdWindow } from "./id_window.ts";

/**
 * The tail of a channel's journal kept in memory: the last `capacity` committed entries, and the
 * client ids of a larger window for duplicate detection. Both only ever grow at the end, in seq
 * order, so lookups by seq are index arithmetic. Both are rings: once full, each commit overwrites
 * the oldest slots instead of shifting every held entry.
 */
export class RecentHistory {
  /** Entries in seq order from `#head`, wrapping around; grows to `capacity`, then is overwritten. */
  #entries: JournalEntry[] = [];
  #head = 0;
  readonly #ids: IdWindow;

  constructor(
    private readonly capacity: number,
    idWindow: number,
  ) {
    this.#ids = new IdWindow(idWindow);
  }

  /** Seq of the oldest entry held, or `last + 1` when empty. */
  firstSeq(last: number): number {
    return this.#entries.length > 0 ? this.#at(0).seq : last + 1;
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Appends committed entries; they must continue the held sequence. */
  push(entries: readonly JournalEntry[]): void {
    for (const e of entries) {
      this.#ids.set(e.clientId, e.seq);
      if (this.capacity === 0) continue;
      if (this.#entries.length < this.capacity) this.#entries.push(e);
      else {
        this.#entries[this.#head] = e;
        this.#head = (this.#head + 1) % this.capacity;
      }
    }
  }

  /** Records ids known committed elsewhere (found by the store) so later retries hit memory. */
  rememberId(clientId: string, seq: number): void {
    this.#ids.set(clientId, seq);
  }

  seqOf(clientId: string): number | undefined {
    return this.#ids.get(clientId);
  }

  /** Held entries with seq > after (after must be >= firstSeq - 1), at most `limit`. */
  after(after: number, limit: number): JournalEntry[] {
    if (this.#entries.length === 0) return [];
    const start = Math.max(0, after + 1 - this.#at(0).seq);
    return this.#slice(start, Math.min(this.#entries.length, start + limit));
  }

  /** The last `limit` held entries with seq < before (before must be <= last + 1). */
  before(before: number, limit: number): JournalEntry[] {
    if (this.#entries.length === 0) return [];
    const end = Math.max(0, Math.min(this.#entries.length, before - this.#at(0).seq));
    return this.#slice(Math.max(0, end - limit), end);
  }

  /** Forgets the held entries with seq <= `seq` (the journal's prefix was trimmed); the id window stays. */
  dropThrough(seq: number): void {
    if (this.#entries.length === 0 || this.#at(0).seq > seq) return;
    this.#entries = this.#slice(Math.min(this.#entries.length, seq + 1 - this.#at(0).seq), this.#entries.length);
    this.#head = 0;
  }

  /** Replaces the held entries of `user` by their tombstones (erasure); returns how many. */
  eraseSender(user: string): number {
    let n = 0;
    for (let i = 0; i < this.#entries.length; i++) {
      const e = this.#entries[i]!;
      if (e.sender !== user) continue;
      this.#entries[i] = tombstoneOf(e);
      n++;
    }
    return n;
  }

  /** The i-th oldest held entry. */
  #at(i: number): JournalEntry {
    return this.#entries[(this.#head + i) % this.#entries.length]!;
  }

  #slice(from: number, to: number): JournalEntry[] {
    const out: JournalEntry[] = [];
    for (let i = from; i < to; i++) out.push(this.#at(i));
    return out;
  }
}
