import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StoreClosedError } from "./errors.ts";
import type { JournalEntry, Store } from "./store.ts";
import { runUserDataConformance } from "./user_data_conformance.ts";
import { runApiKeyConformance } from "./api_key_conformance.ts";
import { runWebhookConformance } from "./webhook_conformance.ts";
import type { UserDataStore } from "./user_data_store.ts";
import type { ApiKeyStore } from "./api_key_store.ts";
import type { WebhookStore } from "./webhook_store.ts";
import { chatStoreCases } from "./store_conformance_chat.ts";
import { continuingGroupCases } from "./store_conformance_groups.ts";

export interface ConformanceOptions {
  /**
   * True when `open()` called again after `close()` opens the same data (file-backed PGlite,
   * PostgreSQL). An in-memory store is not durable: the durability case is skipped for it.
   */
  durable: boolean;
}

/**
 * The guarantees of `store.ts`, run against one implementation. `open` is called once for the
 * suite (and again after close when durable); every case uses actor ids of its own, so the cases
 * share one database, as actors do.
 *
 * @example
 * runStoreConformance("pglite (memory)", () => openPgliteStore(undefined), { durable: false });
 */
export function runStoreConformance(name: string, open: () => Promise<Store & UserDataStore & ApiKeyStore & WebhookStore>, opts: ConformanceOptions): void {
  describe(`store conformance: ${name}`, () => {
    let store: Store & UserDataStore & ApiKeyStore & WebhookStore;
    const run = randomUUID().slice(0, 8);
    const actor = (label: string) => `test:${run}:${label}`;

    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store.close();
    });

    /** Activates `id` and appends seqs 1..n in one batch. */
    async function seeded(id: string, n: number): Promise<number> {
      const epoch = await store.acquireEpoch(id, "node-a");
      expect(await store.append(id, epoch, entries(1, n))).toEqual({ ok: true });
      return epoch;
    }

    it("store - acquireEpoch returns a strictly greater epoch every time", async () => {
      const id = actor("epochs");
      const seen: number[] = [];
      for (let i = 0; i < 5; i++) seen.push(await store.acquireEpoch(id, `node-${i}`));
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
      expect(await store.currentEpoch(id)).toEqual({ epoch: seen.at(-1), owner: "node-4" });
    });

    it("store - an epoch grant is first for an actor never activated, and never again", async () => {
      const id = actor("grant");
      const other = actor("grant-other");
      await store.acquireEpoch(other, "node-a");
      expect(await store.acquireEpochGrant(id, "node-a")).toEqual({ epoch: expect.any(Number), first: true });
      const second = await store.acquireEpochGrant(id, "node-b");
      expect(second.first).toBe(false);
      expect((await store.acquireEpochGrant(other, "node-b")).first).toBe(false);
      const third = await store.acquireEpoch(id, "node-a");
      expect(third).toBeGreaterThan(second.epoch);
      expect(await store.acquireEpochGrant(id, "node-a")).toEqual({ epoch: third + 1, first: false });
    });

    it("store - concurrent epoch grants of a new actor: exactly one is first", async () => {
      const id = actor("grant-race");
      const grants = await Promise.all(Array.from({ length: 6 }, (_, i) => store.acquireEpochGrant(id, `node-${i}`)));
      expect(grants.filter((g) => g.first)).toHaveLength(1);
      expect(new Set(grants.map((g) => g.epoch)).size).toBe(6);
    });

    it("store - currentEpoch of an actor never activated is null", async () => {
      expect(await store.currentEpoch(actor("never"))).toBeNull();
    });

    it("store - an append with the current epoch commits every entry", async () => {
      const id = actor("append-ok");
      await seeded(id, 3);
      expect(await store.readAfter(id, 0, 10)).toEqual(entries(1, 3));
      expect(await store.bounds(id)).toEqual({ first: 1, last: 3 });
    });

    it("store - a stale epoch's append commits nothing", async () => {
      const id = actor("stale-append");
      const old = await seeded(id, 2);
      await store.acquireEpoch(id, "node-b");
      expect(await store.append(id, old, entries(3, 2))).toEqual({ ok: false, reason: "fenced" });
      expect(await store.bounds(id)).toEqual({ first: 1, last: 2 });
    });

    it("store - an append for an actor never activated is fenced", async () => {
      const id = actor("no-epoch");
      expect(await store.append(id, 1, entries(1, 1))).toEqual({ ok: false, reason: "fenced" });
      expect(await store.bounds(id)).toEqual({ first: 0, last: 0 });
    });

    it("store - a retried client id is reported with its first seq and its whole batch commits nothing", async () => {
      const id = actor("duplicate");
      const epoch = await seeded(id, 3);
      const retry = [entry(4, "fresh"), entry(5, "c-2")];
      const out = await store.append(id, epoch, retry);
      expect(out).toEqual({ ok: false, reason: "duplicate", existing: new Map([["c-2", 2]]) });
      expect(await store.bounds(id)).toEqual({ first: 1, last: 3 });
      expect(await store.findClientIds(id, ["fresh"])).toEqual(new Map());
    });

    it("store - an append reusing a committed seq is a conflict and commits nothing", async () => {
      const id = actor("seq-taken");
      const epoch = await seeded(id, 3);
      expect(await store.append(id, epoch, [entry(3, "other")])).toEqual({ ok: false, reason: "conflict" });
      expect(await store.readAfter(id, 0, 10)).toEqual(entries(1, 3));
    });

    it("store - an append that leaves a gap after the last seq is a conflict and commits nothing", async () => {
      const id = actor("gap");
      const epoch = await seeded(id, 3);
      expect(await store.append(id, epoch, entries(5, 2))).toEqual({ ok: false, reason: "conflict" });
      expect(await store.bounds(id)).toEqual({ first: 1, last: 3 });
    });

    it("store - a batch whose seqs are not consecutive is a conflict and commits nothing", async () => {
      const id = actor("holes");
      const epoch = await seeded(id, 1);
      expect(await store.append(id, epoch, [entry(2, "a"), entry(4, "b")])).toEqual({ ok: false, reason: "conflict" });
      expect(await store.bounds(id)).toEqual({ first: 1, last: 1 });
    });

    it("store - entries keep their text exactly", async () => {
      const id = actor("text");
      const epoch = await store.acquireEpoch(id, "node-a");
      const odd = ['quote " and \\ backslash', "{braces},[brackets],commas", "héllo wörld ✓ 🚀", "line\nbreak\ttab", "", "NULL"];
      const batch = odd.map((body, i): JournalEntry => ({ seq: i + 1, clientId: `${body}#${i}`, sender: body, body, ts: 1_700_000_000_000 + i }));
      expect(await store.append(id, epoch, batch)).toEqual({ ok: true });
      expect(await store.readAfter(id, 0, 100)).toEqual(batch);
    });

    it("store - readAfter returns at most limit entries after a seq, ascending", async () => {
      const id = actor("read-after");
      await seeded(id, 10);
      expect(await store.readAfter(id, 4, 3)).toEqual(entries(5, 3));
      expect(await store.readAfter(id, 8, 100)).toEqual(entries(9, 2));
      expect(await store.readAfter(id, 10, 100)).toEqual([]);
    });

    it("store - readBefore returns the last entries before a seq, ascending", async () => {
      const id = actor("read-before");
      await seeded(id, 10);
      expect(await store.readBefore(id, 8, 3)).toEqual(entries(5, 3));
      expect(await store.readBefore(id, 3, 100)).toEqual(entries(1, 2));
      expect(await store.readBefore(id, 1, 100)).toEqual([]);
    });

    it("store - bounds of an empty journal are zero", async () => {
      expect(await store.bounds(actor("empty"))).toEqual({ first: 0, last: 0 });
    });

    it("store - findClientIds returns the seqs of committed ids only", async () => {
      const id = actor("find");
      await seeded(id, 4);
      expect(await store.findClientIds(id, ["c-2", "c-4", "c-9"])).toEqual(new Map([["c-2", 2], ["c-4", 4]]));
      expect(await store.findClientIds(id, [])).toEqual(new Map());
    });

    const KEEP_NONE = Number.MAX_SAFE_INTEGER;

    it("store - trim drops a prefix up to a seq and moves the first bound", async () => {
      const id = actor("trim");
      const epoch = await seeded(id, 6);
      expect(await store.trim(id, epoch, { uptoSeq: 4, keepSince: KEEP_NONE })).toBe(4);
      expect(await store.bounds(id)).toEqual({ first: 5, last: 6 });
      expect(await store.readAfter(id, 0, 10)).toEqual(entries(5, 2));
      expect(await store.append(id, epoch, entries(7, 1))).toEqual({ ok: true });
    });

    it("store - trim never drops the last entry, so appends still continue the journal", async () => {
      const id = actor("trim-tail");
      const epoch = await seeded(id, 3);
      expect(await store.trim(id, epoch, { uptoSeq: 10, keepSince: KEEP_NONE })).toBe(2);
      expect(await store.bounds(id)).toEqual({ first: 3, last: 3 });
      expect(await store.append(id, epoch, entries(5, 1))).toEqual({ ok: false, reason: "conflict" });
      expect(await store.append(id, epoch, entries(4, 1))).toEqual({ ok: true });
    });

    it("store - trim by age drops the entries accepted before olderThan", async () => {
      const id = actor("trim-age");
      const epoch = await seeded(id, 6);
      expect(await store.trim(id, epoch, { uptoSeq: 0, olderThan: entry(4, "x").ts, keepSince: KEEP_NONE })).toBe(3);
      expect(await store.bounds(id)).toEqual({ first: 4, last: 6 });
    });

    it("store - trim keeps every entry accepted at or after keepSince, whatever the seq asks", async () => {
      const id = actor("trim-horizon");
      const epoch = await seeded(id, 6);
      expect(await store.trim(id, epoch, { uptoSeq: 6, olderThan: KEEP_NONE, keepSince: entry(3, "x").ts })).toBe(2);
      expect(await store.bounds(id)).toEqual({ first: 3, last: 6 });
    });

    it("store - a smaller trim after a larger one reports the larger floor", async () => {
      const id = actor("trim-floor");
      const epoch = await seeded(id, 6);
      expect(await store.trim(id, epoch, { uptoSeq: 4, keepSince: KEEP_NONE })).toBe(4);
      expect(await store.trim(id, epoch, { uptoSeq: 2, keepSince: KEEP_NONE })).toBe(4);
      expect(await store.bounds(id)).toEqual({ first: 5, last: 6 });
    });

    it("store - a stale epoch's trim drops nothing", async () => {
      const id = actor("stale-trim");
      const old = await seeded(id, 3);
      await store.acquireEpoch(id, "node-b");
      expect(await store.trim(id, old, { uptoSeq: 3, keepSince: KEEP_NONE })).toBeNull();
      expect(await store.bounds(id)).toEqual({ first: 1, last: 3 });
    });

    it("store - trims racing appends of the same actor leave the journal a contiguous suffix", async () => {
      const id = actor("trim-race");
      const epoch = await seeded(id, 10);
      const work: Array<Promise<unknown>> = [];
      for (let i = 0; i < 20; i++) {
        work.push(store.append(id, epoch, entries(11 + i, 1)));
        if (i % 4 === 0) work.push(store.trim(id, epoch, { uptoSeq: 8 + i, keepSince: KEEP_NONE }));
      }
      const outcomes = await Promise.all(work);
      expect(outcomes.filter((o) => typeof o === "object" && o !== null && "ok" in o && o.ok)).toHaveLength(20);
      const { first, last } = await store.bounds(id);
      expect(last).toBe(30);
      expect(first).toBeGreaterThanOrEqual(9);
      expect(await store.readAfter(id, 0, 100)).toEqual(entries(first, 31 - first));
    });

    it("store - eraseSender turns one sender's entries into tombstones and leaves the others' intact", async () => {
      const id = actor("erase");
      const epoch = await store.acquireEpoch(id, "node-a");
      const batch = entries(1, 4).map((e) => (e.seq % 2 === 0 ? { ...e, sender: "zed", body: `zed says ${e.seq}` } : e));
      expect(await store.append(id, epoch, batch)).toEqual({ ok: true });
      expect(await store.eraseSender(id, epoch, "zed")).toBe(2);
      const after = await store.readAfter(id, 0, 10);
      expect(after.filter((e) => e.seq % 2 === 1)).toEqual(batch.filter((e) => e.seq % 2 === 1));
      for (const t of after.filter((e) => e.seq % 2 === 0)) {
        expect(t).toMatchObject({ sender: "", body: "", ts: batch[t.seq - 1]!.ts });
        expect(t.clientId.length).toBeGreaterThan(64);
      }
      expect(await store.append(id, epoch, entries(5, 1))).toEqual({ ok: true });
    });

    it("store - a stale epoch's eraseSender changes nothing", async () => {
      const id = actor("erase-stale");
      const old = await seeded(id, 2);
      await store.acquireEpoch(id, "node-b");
      expect(await store.eraseSender(id, old, "ann")).toBeNull();
      expect(await store.readAfter(id, 0, 10)).toEqual(entries(1, 2));
    });

    runUserDataConformance(() => store);
    runApiKeyConformance(() => store);
    runWebhookConformance(() => store);

    it("store - a snapshot saved with the current epoch loads back, the latest winning", async () => {
      const id = actor("snapshot");
      const epoch = await store.acquireEpoch(id, "node-a");
      expect(await store.loadSnapshot(id)).toBeNull();
      expect(await store.saveSnapshot(id, epoch, { seq: 3, state: { members: ["ann"] } })).toBe(true);
      expect(await store.saveSnapshot(id, epoch, { seq: 7, state: { members: ["ann", "bob"], n: 2 } })).toBe(true);
      expect(await store.loadSnapshot(id)).toEqual({ seq: 7, state: { members: ["ann", "bob"], n: 2 } });
    });

    it("store - a stale epoch's snapshot writes nothing", async () => {
      const id = actor("stale-snapshot");
      const old = await store.acquireEpoch(id, "node-a");
      await store.saveSnapshot(id, old, { seq: 1, state: "kept" });
      await store.acquireEpoch(id, "node-b");
      expect(await store.saveSnapshot(id, old, { seq: 2, state: "lost" })).toBe(false);
      expect(await store.loadSnapshot(id)).toEqual({ seq: 1, state: "kept" });
    });

    it("store - listSnapshots pages through one prefix in actor id order", async () => {
      const prefix = `list:${run}:a_%`;
      const ids = ["d", "b", "a", "c"].map((k) => `${prefix}${k}`);
      const outside = [`list:${run}:a_x`, `list:${run}:ab%z`, `list:${run}:a`];
      for (const id of [...ids, ...outside]) {
        await store.saveSnapshot(id, await store.acquireEpoch(id, "node-a"), { seq: 1, state: id });
      }
      const page1 = await store.listSnapshots(prefix, "", 3);
      expect(page1.map((s) => s.actorId)).toEqual([`${prefix}a`, `${prefix}b`, `${prefix}c`]);
      expect(page1[0]!.snapshot).toEqual({ seq: 1, state: `${prefix}a` });
      const page2 = await store.listSnapshots(prefix, page1.at(-1)!.actorId, 3);
      expect(page2.map((s) => s.actorId)).toEqual([`${prefix}d`]);
    });

    it("store - concurrent appends from many actors all land", async () => {
      const ids = Array.from({ length: 50 }, (_, i) => actor(`many-${i}`));
      await Promise.all(
        ids.map(async (id) => {
          const epoch = await store.acquireEpoch(id, "node-a");
          for (let b = 0; b < 4; b++) expect(await store.append(id, epoch, entries(b * 5 + 1, 5))).toEqual({ ok: true });
        }),
      );
      for (const id of ids) expect(await store.readAfter(id, 0, 100)).toEqual(entries(1, 20));
    });

    it("store - appends of one actor issued together land in issue order", async () => {
      const id = actor("pipelined");
      const epoch = await store.acquireEpoch(id, "node-a");
      const outcomes = await Promise.all([1, 4, 7].map((from) => store.append(id, epoch, entries(from, 3))));
      expect(outcomes).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
      expect(await store.readAfter(id, 0, 100)).toEqual(entries(1, 9));
    });

    it("store - a rejected append does not fail the appends issued with it", async () => {
      const fenced = actor("mixed-fenced");
      const dup = actor("mixed-dup");
      const fine = actor("mixed-fine");
      const old = await seeded(fenced, 1);
      await store.acquireEpoch(fenced, "node-b");
      const dupEpoch = await seeded(dup, 1);
      const fineEpoch = await store.acquireEpoch(fine, "node-a");
      const outcomes = await Promise.all([
        store.append(fenced, old, entries(2, 1)),
        store.append(dup, dupEpoch, entries(1, 1)),
        store.append(fine, fineEpoch, entries(1, 2)),
      ]);
      expect(outcomes.map((o) => (o.ok ? "ok" : o.reason))).toEqual(["fenced", "duplicate", "ok"]);
      expect(await store.readAfter(fine, 0, 10)).toEqual(entries(1, 2));
    });

    it("store - appends of many actors issued together each get their own outcome", async () => {
      const [fenced, dup, gap, taken, empty, fine] = ["fenced", "dup", "gap", "taken", "empty", "fine"].map((l) => actor(`group-${l}`)) as [string, string, string, string, string, string];
      const old = await seeded(fenced, 1);
      await store.acquireEpoch(fenced, "node-b");
      const dupEpoch = await seeded(dup, 2);
      const gapEpoch = await seeded(gap, 2);
      const takenEpoch = await seeded(taken, 2);
      const emptyEpoch = await store.acquireEpoch(empty, "node-a");
      const fineEpoch = await seeded(fine, 1);
      const outcomes = await Promise.all([
        store.append(fenced, old, entries(2, 1)),
        store.append(dup, dupEpoch, [entry(3, "fresh"), entry(4, "c-1")]),
        store.append(gap, gapEpoch, entries(4, 1)),
        store.append(taken, takenEpoch, [entry(2, "other")]),
        store.append(empty, emptyEpoch, []),
        store.append(fine, fineEpoch, entries(2, 3)),
      ]);
      expect(outcomes).toEqual([
        { ok: false, reason: "fenced" },
        { ok: false, reason: "duplicate", existing: new Map([["c-1", 1]]) },
        { ok: false, reason: "conflict" },
        { ok: false, reason: "conflict" },
        { ok: true },
        { ok: true },
      ]);
      expect(await store.readAfter(fenced, 0, 10)).toEqual(entries(1, 1));
      expect(await store.readAfter(dup, 0, 10)).toEqual(entries(1, 2));
      expect(await store.readAfter(gap, 0, 10)).toEqual(entries(1, 2));
      expect(await store.readAfter(taken, 0, 10)).toEqual(entries(1, 2));
      expect(await store.readAfter(fine, 0, 10)).toEqual(entries(1, 4));
    });

    it.skipIf(!opts.durable)("store - committed appends, epochs and snapshots survive close and reopen", async () => {
      const id = actor("durable");
      const epoch = await seeded(id, 3);
      await store.saveSnapshot(id, epoch, { seq: 3, state: { topic: "kept" } });
      await store.close();
      store = await open();
      expect(await store.readAfter(id, 0, 10)).toEqual(entries(1, 3));
      expect(await store.currentEpoch(id)).toEqual({ epoch, owner: "node-a" });
      expect(await store.loadSnapshot(id)).toEqual({ seq: 3, state: { topic: "kept" } });
      expect(await store.acquireEpoch(id, "node-b")).toBeGreaterThan(epoch);
    });

    chatStoreCases(() => store, actor);
    continuingGroupCases(() => store, actor);

    it("store - close lets in-flight appends finish and rejects later calls", async () => {
      const id = actor("closing");
      const epoch = await store.acquireEpoch(id, "node-a");
      const inFlight = store.append(id, epoch, entries(1, 2));
      await store.close();
      expect(await inFlight).toEqual({ ok: true });
      await expect(store.bounds(id)).rejects.toBeInstanceOf(StoreClosedError);
      await expect(store.append(id, epoch, entries(3, 1))).rejects.toBeInstanceOf(StoreClosedError);
    });
  });
}

function entry(seq: number, clientId: string): JournalEntry {
  return { seq, clientId, sender: "ann", body: `message ${seq}`, ts: 1_700_000_000_000 + seq };
}

/** Entries `from .. from + n - 1`, with client ids `c-<seq>`. */
function entries(from: number, n: number): JournalEntry[] {
  return Array.from({ length: n }, (_, i) => entry(from + i, `c-${from + i}`));
}
