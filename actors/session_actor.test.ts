import { describe, expect, it } from "vitest";
import { actorTestHost } from "../property-tests/actor_test_host.ts";
import { MemoryStore } from "../property-tests/memory_store.ts";
import type { EdgeEvent, SessionView } from "./messages.ts";

const code = (p: Promise<unknown>) => p.then(() => "ok", (e: { code?: string }) => e.code);
const userEvents = (events: EdgeEvent[]) => events.filter((e) => e.type === "user").map((e) => (e as Extract<EdgeEvent, { type: "user" }>).event);

describe("session - unread counts and notifications that follow the user", () => {
  it("session - a new direct message reaches every edge holding a connection of the user, subscribed or not", async () => {
    const h = actorTestHost();
    await h.ask("session:bob", { type: "connect", edge: "edge:a" });
    await h.ask("session:bob", { type: "connect", edge: "edge:b" });
    await h.ask("channel:dm:ann:bob", { type: "create", user: "ann", visibility: "private", topic: "", members: ["bob"] });
    await h.ask("channel:dm:ann:bob", { type: "publish", user: "ann", clientId: "m1", body: "psst" });
    await h.settle();
    for (const edge of ["edge:a", "edge:b"]) {
      expect(userEvents(h.to<EdgeEvent>(edge))).toEqual([
        { t: "invited", ch: "dm:ann:bob", by: "ann" },
        { t: "dm", ch: "dm:ann:bob", seq: 1, from: "ann" },
      ]);
    }
    expect(userEvents(h.to<EdgeEvent>("edge:a")).some((e) => e.t === "dm" && e.from === "bob")).toBe(false);
  });

  it("session - a mention reaches the user named, counts until read, and the welcome view says so", async () => {
    const h = actorTestHost();
    await h.ask("channel:g", { type: "create", user: "ann", visibility: "public", topic: "", members: ["bob"] });
    await h.ask("session:bob", { type: "connect", edge: "edge:a" });
    await h.ask("channel:g", { type: "publish", user: "ann", clientId: "m1", body: "hey @bob, look" });
    await h.ask("channel:g", { type: "publish", user: "ann", clientId: "m2", body: "and this" });
    await h.ask("channel:g", { type: "publish", user: "bob", clientId: "m3", body: "mine" });
    await h.settle();
    expect(userEvents(h.to<EdgeEvent>("edge:a"))).toContainEqual({ t: "mention", ch: "g", seq: 1, from: "ann" });
    const view = await h.ask<SessionView>("session:bob", { type: "get" });
    expect(view).toMatchObject({ channels: ["g"], unread: { g: 2 }, mentions: { g: 1 }, lasts: { g: 3 } });
    await h.ask("session:bob", { type: "read", ch: "g", seq: 1 });
    expect(await h.ask<SessionView>("session:bob", { type: "get" })).toMatchObject({ unread: { g: 1 }, mentions: {} });
  });

  it("session - an invitation reaches every connection of the invitee", async () => {
    const h = actorTestHost();
    await h.ask("session:bob", { type: "connect", edge: "edge:a" });
    await h.ask("session:bob", { type: "connect", edge: "edge:b" });
    await h.ask("channel:p", { type: "create", user: "ann", visibility: "private", topic: "" });
    await h.ask("channel:p", { type: "invite", user: "ann", member: "bob" });
    await h.settle();
    for (const edge of ["edge:a", "edge:b"]) expect(userEvents(h.to<EdgeEvent>(edge))).toEqual([{ t: "invited", ch: "p", by: "ann" }]);
  });

  it("session - a read marker only moves on a channel the user belongs to, and leaves with it", async () => {
    const h = actorTestHost();
    await h.ask("channel:g", { type: "create", user: "ann", visibility: "public", topic: "" });
    // The channel checks membership (and clamps the seq) before the session stores a marker.
    expect(await code(h.ask("channel:g", { type: "mark_read", user: "bob", seq: 5 }))).toBe("not_member");
    await h.ask("channel:g", { type: "join", user: "bob" });
    await h.settle();
    expect(await h.ask("session:bob", { type: "read", ch: "g", seq: 5 })).toBe(true);
    await h.ask("channel:g", { type: "leave", user: "bob" });
    await h.settle();
    expect(await h.ask<SessionView>("session:bob", { type: "get" })).toMatchObject({ channels: [], reads: {} });
  });

  it("session - no notice about a channel the user was removed from", async () => {
    const h = actorTestHost();
    await h.ask("session:bob", { type: "connect", edge: "edge:a" });
    await h.ask("session:bob", { type: "notify", ev: "mention", ch: "g", seq: 3, from: "ann" });
    expect(userEvents(h.to<EdgeEvent>("edge:a"))).toEqual([]);
  });

  it("session - a new user's first connect reads no snapshot; once the session saved state, the next activation reads it back", async () => {
    class CountingStore extends MemoryStore {
      loads: string[] = [];
      override async loadSnapshot(id: string) {
        if (id.startsWith("session:")) this.loads.push(id);
        return super.loadSnapshot(id);
      }
    }
    const store = new CountingStore();
    const h = actorTestHost(store);
    expect(await h.ask<SessionView>("session:newbie", { type: "connect", edge: "edge:a" })).toMatchObject({ user: "newbie", channels: [], reads: {} });
    expect(store.loads).toEqual([]);
    await h.ask("channel:g", { type: "create", user: "ann", visibility: "public", topic: "", members: ["newbie"] });
    await h.settle();
    // Another host over the same store: the node that activates the session next.
    const later = actorTestHost(store);
    expect(await later.ask<SessionView>("session:newbie", { type: "connect", edge: "edge:b" })).toMatchObject({ channels: ["g"] });
    expect(store.loads).toEqual(["session:newbie"]);
  });
});
