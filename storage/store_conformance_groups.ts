import { expect, it } from "vitest";
import type { JournalEntry, Store } from "./store.ts";

/**
 * Groups whose appends all continue what the store committed: the path a steady stream of
 * publishes takes (COPY behind a fence on PostgreSQL, `SQL.appendContinuing` on PGlite), each
 * append still decided on its own. Registered inside `runStoreConformance`'s suite.
 */
export function continuingGroupCases(store: () => Store, actor: (label: string) => string): void {
  /** Activates `id` and appends seqs 1..n, so that the store's next append to it continues its journal. */
  async function seeded(id: string, n: number): Promise<number> {
    const epoch = await store().acquireEpoch(id, "node-a");
    expect(await store().append(id, epoch, entries(1, n, id))).toEqual({ ok: true });
    return epoch;
  }

  it("store - in a group of continuing appends, a stale epoch's append is fenced whole and its neighbours commit", async () => {
    const s = store();
    // Ids out of code point order (a surrogate pair sorts above U+FFFD), so the locks are not taken in arrival order.
    const ids = ["z", "\u{1F600}", "\uFFFD", "a"].map((l) => actor(`continuing-${l}`));
    const epochs = await Promise.all(ids.map((id) => seeded(id, 2)));
    await s.acquireEpoch(ids[1]!, "node-b");
    const outcomes = await Promise.all(ids.map((id, i) => s.append(id, epochs[i]!, entries(3, 3, id))));
    expect(outcomes).toEqual(ids.map((_, i) => (i === 1 ? { ok: false, reason: "fenced" } : { ok: true })));
    for (const [i, id] of ids.entries()) expect(await s.readAfter(id, 0, 10)).toEqual(entries(1, i === 1 ? 2 : 5, id));
  });

  it("store - in a group of continuing appends, a retried client id is named and the other appends commit", async () => {
    const s = store();
    const [dup, fine, stale] = ["dup", "fine", "stale"].map((l) => actor(`continuing-${l}`)) as [string, string, string];
    const [dupEpoch, fineEpoch, staleEpoch] = await Promise.all([dup, fine, stale].map((id) => seeded(id, 2)));
    await s.acquireEpoch(stale, "node-b");
    const retried = entries(1, 1, dup)[0]!;
    const outcomes = await Promise.all([
      s.append(dup, dupEpoch!, [...entries(3, 1, dup), { ...retried, seq: 4 }]),
      s.append(fine, fineEpoch!, entries(3, 2, fine)),
      s.append(stale, staleEpoch!, entries(3, 1, stale)),
    ]);
    expect(outcomes).toEqual([
      { ok: false, reason: "duplicate", existing: new Map([[retried.clientId, 1]]) },
      { ok: true },
      { ok: false, reason: "fenced" },
    ]);
    expect(await s.bounds(dup)).toEqual({ first: 1, last: 2 });
    expect(await s.readAfter(fine, 0, 10)).toEqual(entries(1, 4, fine));
    expect(await s.bounds(stale)).toEqual({ first: 1, last: 2 });
    // The refused append left its journal as it was: the batch without the retried entry continues it.
    expect(await s.append(dup, dupEpoch!, entries(3, 1, dup))).toEqual({ ok: true });
  });
}

/** Entries `from .. from + n - 1` of `id`, with client ids unique to it. */
function entries(from: number, n: number, id: string): JournalEntry[] {
  return Array.from({ length: n }, (_, i) => ({ seq: from + i, clientId: `${id}-${from + i}`, sender: "ann", body: `message ${from + i} of ${id}`, ts: 1_700_000_000_000 + from + i }));
}
