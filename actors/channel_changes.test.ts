import { describe, expect, it } from "vitest";
import { actorTestHost } from "../property-tests/actor_test_host.ts";
import type { EdgeEvent, HistoryReply, PublishAck, SubscribeReply } from "./messages.ts";

const CH = "channel:chat";

async function channelWith(bodies: string[]) {
  const h = actorTestHost();
  await h.ask(CH, { type: "create", user: "ann", visibility: "public", topic: "", members: ["bob"] });
  for (const [i, body] of bodies.entries()) await h.ask(CH, { type: "publish", user: i % 2 === 0 ? "ann" : "bob", clientId: `m${i + 1}`, body });
  return h;
}

const code = (p: Promise<unknown>) => p.then(() => "ok", (e: { code?: string }) => e.code);

describe("channel - edits, deletes, reactions, threads", () => {
  it("channel - an edit and a delete are entries with their own seqs, seen in order by a subscriber resuming from before them", async () => {
    const h = await channelWith(["hello", "hi ann"]);
    expect(await h.ask<PublishAck>(CH, { type: "edit", user: "ann", clientId: "e1", ref: 1, body: "hello, all" })).toEqual({ seq: 3, duplicate: false });
    expect(await h.ask<PublishAck>(CH, { type: "delete", user: "bob", clientId: "d2", ref: 2 })).toEqual({ seq: 4, duplicate: false });
    const page = await h.ask<SubscribeReply>(CH, { type: "subscribe", user: "bob", edge: "edge:x", after: 1, limit: 100 });
    expect(page.msgs.map((e) => [e.seq, e.kind ?? "msg", e.ref, e.body])).toEqual([
      [2, "msg", undefined, "hi ann"],
      [3, "edit", 1, "hello, all"],
      [4, "delete", 2, ""],
    ]);
  });

  it("channel - edits and deletes reach live subscribers as msgs entries", async () => {
    const h = await channelWith(["hello"]);
    await h.ask(CH, { type: "subscribe", user: "bob", edge: "edge:x", after: 1, limit: 100 });
    await h.ask(CH, { type: "edit", user: "ann", clientId: "e1", ref: 1, body: "v2" });
    const batches = h.to<EdgeEvent>("edge:x").filter((e) => e.type === "msgs") as Array<Extract<EdgeEvent, { type: "msgs" }>>;
    expect(batches.flatMap((b) => b.m)).toMatchObject([{ seq: 2, kind: "edit", ref: 1, body: "v2", sender: "ann" }]);
  });

  it("channel - history with current shows the latest version marked edited, and a tombstone for a delete", async () => {
    const h = await channelWith(["one", "two", "three"]);
    await h.ask(CH, { type: "edit", user: "ann", clientId: "e1", ref: 1, body: "ONE" });
    await h.ask(CH, { type: "delete", user: "ann", clientId: "d3", ref: 3 });
    const page = await h.ask<HistoryReply>(CH, { type: "history", user: "bob", limit: 100, current: true });
    expect(page.msgs.slice(0, 3).map((m) => [m.seq, m.body, m.edited, m.deleted])).toEqual([
      [1, "ONE", true, undefined],
      [2, "two", undefined, undefined],
      [3, "", undefined, true],
    ]);
  });

  it("channel - a retried edit keeps its first seq, even after the message it edited was deleted", async () => {
    const h = await channelWith(["one"]);
    await h.ask(CH, { type: "edit", user: "ann", clientId: "e1", ref: 1, body: "v2" });
    await h.ask(CH, { type: "delete", user: "ann", clientId: "d1", ref: 1 });
    for (let i = 0; i < 8; i++) await h.ask(CH, { type: "publish", user: "ann", clientId: `x${i}`, body: "more" }); // out of the id window
    expect(await h.ask(CH, { type: "edit", user: "ann", clientId: "e1", ref: 1, body: "v2" })).toEqual({ seq: 2, duplicate: true });
    expect(await code(h.ask(CH, { type: "edit", user: "ann", clientId: "e9", ref: 1, body: "v3" }))).toBe("not_found");
  });

  it("channel - only the author edits; the author or a moderator deletes", async () => {
    const h = await channelWith(["ann's", "bob's"]);
    expect(await code(h.ask(CH, { type: "edit", user: "bob", clientId: "e", ref: 1, body: "x" }))).toBe("forbidden");
    expect(await code(h.ask(CH, { type: "delete", user: "bob", clientId: "d", ref: 1 }))).toBe("forbidden");
    expect(await code(h.ask(CH, { type: "delete", user: "ann", clientId: "d2", ref: 2 }))).toBe("ok"); // the owner
    expect(await code(h.ask(CH, { type: "edit", user: "ann", clientId: "e2", ref: 99, body: "x" }))).toBe("not_found");
    expect(await code(h.ask(CH, { type: "edit", user: "eve", clientId: "e3", ref: 1, body: "x" }))).toBe("not_member");
  });

  it("channel - a change of a change is refused: only messages are edited, deleted or reacted to", async () => {
    const h = await channelWith(["one"]);
    await h.ask(CH, { type: "edit", user: "ann", clientId: "e1", ref: 1, body: "v2" });
    expect(await code(h.ask(CH, { type: "react", user: "bob", clientId: "r", ref: 2, emoji: "👍" }))).toBe("not_found");
  });

  it("channel - reactions count once per user per emoji and can be taken back", async () => {
    const h = await channelWith(["one"]);
    for (const [user, cid] of [["ann", "r1"], ["ann", "r2"], ["bob", "r3"]]) await h.ask(CH, { type: "react", user, clientId: cid, ref: 1, emoji: "👍" });
    await h.ask(CH, { type: "react", user: "bob", clientId: "r4", ref: 1, emoji: "🎉" });
    await h.ask(CH, { type: "react", user: "bob", clientId: "r5", ref: 1, emoji: "🎉", remove: true });
    const page = await h.ask<HistoryReply>(CH, { type: "history", user: "ann", after: 0, limit: 1, current: true });
    expect(page.msgs[0]).toMatchObject({ seq: 1, reactions: { "👍": 2 } });
  });

  it("channel - a reply names its thread; the thread reads on its own and the root counts its replies", async () => {
    const h = await channelWith(["root", "elsewhere"]);
    expect(await h.ask<PublishAck>(CH, { type: "publish", user: "bob", clientId: "t1", body: "reply 1", parent: 1 })).toEqual({ seq: 3, duplicate: false });
    await h.ask(CH, { type: "publish", user: "ann", clientId: "t2", body: "reply 2", parent: 1 });
    expect(await code(h.ask(CH, { type: "publish", user: "ann", clientId: "t3", body: "nested", parent: 3 }))).toBe("bad_request");
    const thread = await h.ask<HistoryReply>(CH, { type: "history", user: "bob", thread: 1, limit: 100 });
    expect(thread.msgs.map((m) => [m.seq, m.body, m.replies])).toEqual([[1, "root", 2], [3, "reply 1", undefined], [4, "reply 2", undefined]]);
    const later = await h.ask<HistoryReply>(CH, { type: "history", user: "bob", thread: 1, after: 3, limit: 100 });
    expect(later.msgs.map((m) => m.seq)).toEqual([4]);
    expect(await code(h.ask(CH, { type: "history", user: "bob", thread: 2 + 100, limit: 10 }))).toBe("not_found");
  });

  it("channel - changes of messages no longer held in memory are checked against the store", async () => {
    const h = await channelWith(["old", "b", "c", "d", "e", "f", "g"]);
    await h.ask(CH, { type: "edit", user: "ann", clientId: "e1", ref: 1, body: "old, edited" });
    const journal = h.store.journalOf(CH);
    expect(journal.at(-1)).toMatchObject({ seq: 8, kind: "edit", ref: 1 });
  });
});

describe("channel - changes across a retention trim", () => {
  /**
   * Messages 1-3, a reaction (4) and a reply (5) to message 1, then a count policy of 2 applied
   * past the exactly-once horizon: the trim drops 1-3 and keeps 4 and 5, whose message is gone.
   */
  async function trimmedUnderChanges() {
    const h = await channelWith(["root", "two", "three"]);
    await h.ask(CH, { type: "react", user: "bob", clientId: "r1", ref: 1, emoji: "👍" });
    await h.ask(CH, { type: "publish", user: "bob", clientId: "t1", body: "in thread", parent: 1 });
    h.clock.advance(120_000);
    const view = await h.ask<{ first: number }>(CH, { type: "retention", user: "ann", admin: false, policy: { maxCount: 2 } });
    expect(view.first).toBe(4);
    return h;
  }

  it("channel - a change, reply or thread read naming a trimmed message is not_found", async () => {
    const h = await trimmedUnderChanges();
    expect(await code(h.ask(CH, { type: "edit", user: "ann", clientId: "e9", ref: 1, body: "late" }))).toBe("not_found");
    expect(await code(h.ask(CH, { type: "react", user: "bob", clientId: "r9", ref: 1, emoji: "🎉" }))).toBe("not_found");
    expect(await code(h.ask(CH, { type: "publish", user: "bob", clientId: "t9", body: "late reply", parent: 1 }))).toBe("not_found");
    expect(await code(h.ask(CH, { type: "history", user: "bob", thread: 1, limit: 10 }))).toBe("not_found");
  });

  it("channel - the retained changes of a trimmed message are served as journaled, truncated at first", async () => {
    const h = await trimmedUnderChanges();
    const page = await h.ask<HistoryReply>(CH, { type: "history", user: "bob", after: 0, limit: 10, current: true });
    expect(page).toMatchObject({ first: 4, last: 5, truncated: true });
    expect(page.msgs.map((e) => [e.seq, e.kind ?? "msg", e.ref, e.body])).toEqual([[4, "react", 1, "👍"], [5, "msg", 1, "in thread"]]);
  });
});
