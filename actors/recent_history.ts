import type { JournalEntry } from "../storage/store.ts";

/**
 * The tail of a channel's journal kept in memory: the last `capacity` committed entries, and the
 * client ids of a larger window for duplicate detection. Both only ever grow at the end, in seq
 * order, so lookups by seq are index arithmetic.
 */
export class RecentHistory {
  #entries: JournalEntry[] = [];
  #ids = new Map<string, number>();

  constructor(
    private readonly capacity: number,
    private readonly idWindow: number,
  ) {}

  /** Seq of the oldest entry held, or `last + 1` when empty. */
  firstSeq(last: number): number {
    return this.#entries.length > 0 ? this.#entries[0]!.seq : last + 1;
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Appends committed entries; they must continue the held sequence. */
  push(entries: readonly JournalEntry[]): void {
    for (const e of entries) {
      this.#entries.push(e);
      this.#ids.set(e.clientId, e.seq);
    }
    const over = this.#entries.length - this.capacity;
    if (over > 0) this.#entries.splice(0, over);
    let extra = this.#ids.size - this.idWindow;
    if (extra > 0) {
      for (const id of this.#ids.keys()) {
        this.#ids.delete(id);
        if (--extra === 0) break;
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
    const start = Math.max(0, after + 1 - this.#entries[0]!.seq);
    return this.#entries.slice(start, start + limit);
  }

  /** The last `limit` held entries with seq < before (before must be <= last + 1). */
  before(before: number, limit: number): JournalEntry[] {
    if (this.#entries.length === 0) return [];
    const end = Math.max(0, Math.min(this.#entries.length, before - this.#entries[0]!.seq));
    return this.#entries.slice(Math.max(0, end - limit), end);
  }
}
