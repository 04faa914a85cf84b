import type { AppendOutcome, JournalEntry } from "./store.ts";

/**
 * Per actor, the last seq that this store committed to its journal: what lets the group statement
 * skip the gap check of an append that starts right after it (`appendGroup`'s `continues`).
 *
 * Why skipping is safe: the journal's end is never deleted alone (`trim` deletes a prefix, so a
 * journal that lost its last row is empty, and an empty journal accepts any first seq anyway). So
 * after this store committed seq L, the journal ends at L or later. An append starting at L + 1
 * either continues it, or overlaps rows someone else appended since (another store, a stale
 * owner), and then breaks the primary key: the statement commits nothing and the careful path
 * answers `conflict`. A stale epoch is refused by fencing, which the memo does not touch.
 *
 * Only an append that this store saw succeed sets an entry; any other outcome, and an error,
 * removes it, so the next append of that actor is checked in full. At most `max` actors are
 * remembered: beyond that the oldest entry is dropped (its actor's next append is checked).
 */
export class TailMemo {
  readonly #last = new Map<string, number>();

  constructor(readonly max = 100_000) {}

  /** Whether an append of `entries` to `actorId` starts right after the last seq this store committed. */
  continues(actorId: string, entries: readonly JournalEntry[]): boolean {
    const first = entries[0];
    return first !== undefined && this.#last.get(actorId) === first.seq - 1;
  }

  /** Records what became of an append of `entries` to `actorId`. */
  settled(actorId: string, entries: readonly JournalEntry[], outcome: AppendOutcome): void {
    const last = entries[entries.length - 1];
    if (!outcome.ok) {
      this.#last.delete(actorId);
    } else if (last !== undefined) {
      if (this.#last.size >= this.max && !this.#last.has(actorId)) {
        this.#last.delete(this.#last.keys().next().value as string);
      }
      this.#last.set(actorId, last.seq);
    }
  }

  /** The append's outcome is unknown (or it failed): its actor's next append is checked in full. */
  forget(actorId: string): void {
    this.#last.delete(actorId);
  }

  get size(): number {
    return this.#last.size;
  }
}
