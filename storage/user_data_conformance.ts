import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { JournalEntry, Store } from "./store.ts";
import type { UserDataStore } from "./user_data_store.ts";

/**
 * The guarantees of `user_data_store.ts`, run inside `runStoreConformance` on the same store
 * (internal): `store()` is the suite's open store. Users and channels are named per run, so runs
 * sharing a database do not see each other's rows.
 */
export function runUserDataConformance(store: () => Store & UserDataStore): void {
  describe("user data", () => {
    const run = randomUUID().slice(0, 8);
    const user = (label: string) => `u${run}${label}`;
    const channel = (label: string) => `channel:${run}-${label}`;

    /** Activates `id`, appends one entry per sender in order, and returns the epoch. */
    async function seed(id: string, senders: string[]): Promise<number> {
      const s = store();
      const epoch = await s.acquireEpoch(id, "node-a");
      const batch = senders.map((sender, i): JournalEntry => ({ seq: i + 1, clientId: `k${i + 1}`, sender, body: `${sender} ${i + 1}`, ts: 1_700_000_000_000 + i }));
      expect(await s.append(id, epoch, batch)).toEqual({ ok: true });
      return epoch;
    }

    it("user data - userMessages pages one user's entries across channels in (channel, seq) order", async () => {
      const [me, other] = [user("pager"), user("other")];
      const [a, b] = [channel("pa"), channel("pb")];
      await seed(a, [me, other, me, me]);
      await seed(b, [other, me]);
      const seen: Array<[string, number]> = [];
      let at: [string, number] = ["", 0];
      for (;;) {
        const page = await store().userMessages(me, at[0], at[1], 2);
        if (page.length === 0) break;
        expect(page.length).toBeLessThanOrEqual(2);
        for (const m of page) seen.push([m.actorId, m.seq]);
        at = [page.at(-1)!.actorId, page.at(-1)!.seq];
      }
      expect(seen).toEqual([[a, 1], [a, 3], [a, 4], [b, 2]]);
      expect((await store().userMessages(me, "", 0, 1))[0]).toEqual({ actorId: a, seq: 1, clientId: "k1", body: `${me} 1`, ts: 1_700_000_000_000 });
    });

    it("user data - userChannels and memberships find channels by entry and by membership", async () => {
      const me = user("member");
      const [wrote, joined, neither] = [channel("mw"), channel("mj"), channel("mn")];
      await seed(wrote, [me]);
      const s = store();
      const epoch = await s.acquireEpoch(joined, "node-a");
      expect(await s.saveSnapshot(joined, epoch, { seq: 0, state: { owner: me, visibility: "private", members: { [me]: "owner", x: "member" } } })).toBe(true);
      const e2 = await s.acquireEpoch(neither, "node-a");
      expect(await s.saveSnapshot(neither, e2, { seq: 0, state: { owner: "x", visibility: "public", members: { x: "owner" } } })).toBe(true);
      expect(await s.userChannels(me)).toEqual([joined, wrote].sort());
      expect(await s.memberships(me, "", 10)).toEqual([{ actorId: joined, role: "owner", owner: true, visibility: "private" }]);
      expect(await s.memberships(me, joined, 10)).toEqual([]);
      const [names, silent] = [`session:${user("n1")}`, `session:${user("n2")}`];
      for (const [id, state] of [[names, { sync: { items: [{ userId: me }] } }], [silent, { reads: {} }]] as const) {
        expect(await s.saveSnapshot(id, await s.acquireEpoch(id, "node-a"), { seq: 0, state })).toBe(true);
      }
      expect(await s.sessionsMentioning(me)).toEqual([names]);
    });

    it("user data - dropActors deletes every row of the actors and fences their old epochs", async () => {
      const id = `session:${user("drop")}`;
      const s = store();
      const old = await s.acquireEpoch(id, "node-a");
      const old2 = await s.acquireEpoch(id, "node-a");
      expect(await s.saveSnapshot(id, old2, { seq: 0, state: { reads: {} } })).toBe(true);
      expect(await s.dropActors([id])).toEqual({ messages: 0, snapshots: 1, epochs: 1 });
      expect(await s.loadSnapshot(id)).toBeNull();
      expect(await s.currentEpoch(id)).toBeNull();
      // The old activations stay fenced, even once the id is activated again.
      expect(await s.saveSnapshot(id, old2, { seq: 0, state: "stale" })).toBe(false);
      // Nothing of it is stored any more: its next activation is a first one, with nothing to read.
      const { epoch: fresh, first } = await s.acquireEpochGrant(id, "node-b");
      expect(first).toBe(true);
      expect(fresh).toBeGreaterThan(Math.max(old, old2));
      expect(await s.saveSnapshot(id, old2, { seq: 0, state: "stale" })).toBe(false);
    });

    it("user data - audit records come back in order with their details", async () => {
      const s = store();
      const before = await s.listAudit(0, 1_000_000);
      const last = before.at(-1)?.id ?? 0;
      const rec = await s.recordAudit({ action: "erase_user", actor: "self", subjectHash: `h${run}`, details: { messages: 3, channels: 1 } });
      expect(rec.id).toBeGreaterThan(last);
      expect(await s.listAudit(last, 10)).toEqual([rec]);
    });
  });
}
