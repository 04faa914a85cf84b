import { expect, it } from "vitest";
import type { JournalEntry, Store } from "./store.ts";

/**
 * The chat part of the store contract (`store.ts`): entry kinds and refs on every write path,
 * references, unread counts and search. Registered inside `runStoreConformance`'s suite, on its
 * store and its actor ids.
 */
export function chatStoreCases(store: () => Store, actor: (label: string) => string): void {
  /** A channel's actor id of this run (search reads only `channel:` snapshots). */
  const channel = (label: string) => `channel:${actor(label).replaceAll(":", "-")}`;

  it("store - entries keep their kind and ref, and a plain message has neither", async () => {
    const s = store();
    const id = actor("kinds");
    const epoch = await s.acquireEpoch(id, "node-a");
    const batch = changes(1);
    expect(await s.append(id, epoch, batch)).toEqual({ ok: true });
    expect(await s.readAfter(id, 0, 100)).toEqual(batch);
    expect(await s.readBefore(id, 100, 2)).toEqual(batch.slice(-2));
    expect(Object.keys((await s.readAfter(id, 0, 1))[0]!).sort()).toEqual(["body", "clientId", "sender", "seq", "ts"]);
  });

  it("store - kinds and refs land on the group path, continuing appends included", async () => {
    const s = store();
    const ids = Array.from({ length: 8 }, (_, i) => actor(`kinds-group-${i}`));
    await Promise.all(ids.map(async (id) => {
      const epoch = await s.acquireEpoch(id, "node-a");
      // The second and third appends continue what this store committed (the COPY path where the driver has it).
      for (const from of [1, 7, 13]) expect(await s.append(id, epoch, changes(from))).toEqual({ ok: true });
    }));
    for (const id of ids) expect(await s.readAfter(id, 0, 100)).toEqual([...changes(1), ...changes(7), ...changes(13)]);
  });

  it("store - a stale epoch's edit commits nothing", async () => {
    const s = store();
    const id = actor("kinds-fenced");
    const old = await s.acquireEpoch(id, "node-a");
    expect(await s.append(id, old, changes(1).slice(0, 1))).toEqual({ ok: true });
    await s.acquireEpoch(id, "node-b");
    expect(await s.append(id, old, [{ ...changes(1)[1]!, seq: 2 }])).toEqual({ ok: false, reason: "fenced" });
    expect(await s.bounds(id)).toEqual({ first: 1, last: 1 });
  });

  it("store - readRefs returns the entries that refer to the given seqs, ascending", async () => {
    const s = store();
    const id = actor("refs");
    const epoch = await s.acquireEpoch(id, "node-a");
    await s.append(id, epoch, changes(1));
    expect((await s.readRefs(id, [1])).map((e) => e.seq)).toEqual([2, 3, 4, 5, 6]);
    expect((await s.readRefs(id, [1, 99])).map((e) => e.kind ?? "msg")).toEqual(["edit", "react", "unreact", "msg", "delete"]);
    expect(await s.readRefs(id, [2])).toEqual([]);
    expect(await s.readRefs(id, [])).toEqual([]);
  });

  it("store - unread counts plain messages from others after the marker, capped", async () => {
    const s = store();
    const id = actor("unread");
    const epoch = await s.acquireEpoch(id, "node-a");
    await s.append(id, epoch, [...changes(1), msg(7, "bob", "b1"), msg(8, "bob", "b2"), msg(9, "ann", "mine")]);
    expect(await s.unread("ann", [{ actorId: id, after: 0 }, { actorId: actor("unread-none"), after: 0 }], 100)).toEqual([
      { actorId: id, last: 9, unread: 2 },
      { actorId: actor("unread-none"), last: 0, unread: 0 },
    ]);
    expect(await s.unread("bob", [{ actorId: id, after: 5 }], 100)).toEqual([{ actorId: id, last: 9, unread: 1 }]);
    expect(await s.unread("ann", [{ actorId: id, after: 0 }], 1)).toEqual([{ actorId: id, last: 9, unread: 1 }]);
  });

  it("store - search finds current texts newest first, in channels listing the user only", async () => {
    const s = store();
    const open = channel("search-open");
    const secret = channel("search-secret");
    const token = `zq${Math.random().toString(36).slice(2, 10)}`;
    for (const [id, members] of [[open, { ann: "owner", bob: "member" }], [secret, { bob: "owner" }]] as const) {
      const epoch = await s.acquireEpoch(id, "node-a");
      await s.saveSnapshot(id, epoch, { seq: 0, state: { members } });
      await s.append(id, epoch, [
        msg(1, "bob", `first ${token}`),
        msg(2, "bob", `second ${token}`),
        { ...msg(3, "bob", `edited ${token} now`), kind: "edit", ref: 1, clientId: "e1" },
        msg(4, "bob", `gone ${token}`),
        { ...msg(5, "bob", ""), kind: "delete", ref: 4, clientId: "d4" },
        { ...msg(6, "bob", `was ${token}`), clientId: "m6" },
        { ...msg(7, "bob", "no match"), kind: "edit", ref: 6, clientId: "e6" },
      ]);
    }
    const page = await s.search("ann", token, undefined, 10);
    expect(page.hits).toEqual([
      { actorId: open, seq: 1, sender: "bob", body: `edited ${token} now`, ts: 3, edited: true },
      { actorId: open, seq: 2, sender: "bob", body: `second ${token}`, ts: 2, edited: false },
    ]);
    expect(page.next).toBeUndefined();
    const first = await s.search("ann", token, undefined, 1);
    expect(first.hits.map((h) => h.seq)).toEqual([1]);
    const second = await s.search("ann", token, first.next, 1);
    expect(second.hits.map((h) => h.seq)).toEqual([2]);
    expect((await s.search("ann", token, second.next, 1)).hits).toEqual([]);
    expect((await s.search("bob", token, undefined, 10)).hits.map((h) => h.actorId)).toEqual([secret, open, secret, open]);
    expect((await s.search("eve", token, undefined, 10)).hits).toEqual([]);
  });
}

function msg(seq: number, sender: string, body: string): JournalEntry {
  return { seq, clientId: `m-${seq}`, sender, body, ts: seq };
}

/** Six entries from `from`: a message, then an edit, react, unreact, thread reply and delete of it. */
function changes(from: number): JournalEntry[] {
  const ts = 1_700_000_000_000 + from;
  const base = { sender: "ann", ts };
  return [
    { seq: from, clientId: `c-${from}`, body: "hello", ...base },
    { seq: from + 1, clientId: `e-${from}`, body: "hello, edited", kind: "edit", ref: from, ...base },
    { seq: from + 2, clientId: `r-${from}`, body: "👍", kind: "react", ref: from, ...base },
    { seq: from + 3, clientId: `u-${from}`, body: "👍", kind: "unreact", ref: from, ...base },
    { seq: from + 4, clientId: `t-${from}`, body: "a reply", ref: from, ...base },
    { seq: from + 5, clientId: `d-${from}`, body: "", kind: "delete", ref: from, ...base },
  ];
}
