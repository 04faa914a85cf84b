import { describe, expect, it } from "vitest";
import { actorTestHost } from "../property-tests/actor_test_host.ts";
import type { EdgeEvent, SessionMsg } from "./messages.ts";

const CH = "channel:mod";
const code = (p: Promise<unknown>) => p.then(() => "ok", (e: { code?: string }) => e.code);

/** ann owns the channel, mo is a moderator, bob and cy are members. */
async function moderated(visibility: "public" | "private" = "public") {
  const h = actorTestHost();
  await h.ask(CH, { type: "create", user: "ann", visibility, topic: "", members: ["mo", "bob", "cy"] });
  await h.ask(CH, { type: "role", user: "ann", member: "mo", role: "moderator" });
  return h;
}

describe("channel - roles and moderation", () => {
  it("moderation - only the owner changes roles and visibility", async () => {
    const h = await moderated();
    expect(await code(h.ask(CH, { type: "role", user: "mo", member: "bob", role: "moderator" }))).toBe("forbidden");
    expect(await code(h.ask(CH, { type: "visibility", user: "mo", visibility: "private" }))).toBe("forbidden");
    expect(await code(h.ask(CH, { type: "visibility", user: "ann", visibility: "private" }))).toBe("ok");
    expect(await h.ask(CH, { type: "info", user: "eve" }).catch((e: { code: string }) => e.code)).toBe("channel_not_found");
  });

  it("moderation - moderators and the owner set the topic; members do not", async () => {
    const h = await moderated();
    expect(await code(h.ask(CH, { type: "topic", user: "bob", topic: "x" }))).toBe("forbidden");
    expect(await code(h.ask(CH, { type: "topic", user: "mo", topic: "x" }))).toBe("ok");
  });

  it("moderation - a kicked member is out, told on all their connections, and may join again", async () => {
    const h = await moderated();
    await h.ask(CH, { type: "subscribe", user: "ann", edge: "edge:x", after: 0, limit: 10 });
    expect(await code(h.ask(CH, { type: "kick", user: "mo", member: "bob" }))).toBe("ok");
    expect(h.to<EdgeEvent>("edge:x")).toContainEqual({ type: "member", ch: "mod", user: "bob", joined: false });
    expect(h.to<SessionMsg>("session:bob")).toContainEqual({ type: "left", ch: "mod", reason: "kicked" });
    expect(await code(h.ask(CH, { type: "publish", user: "bob", clientId: "p", body: "x" }))).toBe("not_member");
    expect(await code(h.ask(CH, { type: "join", user: "bob" }))).toBe("ok");
  });

  it("moderation - a moderator cannot act on the owner, another moderator or themself", async () => {
    const h = await moderated();
    await h.ask(CH, { type: "role", user: "ann", member: "bob", role: "moderator" });
    for (const member of ["ann", "bob", "mo"]) expect(await code(h.ask(CH, { type: "kick", user: "mo", member }))).toBe("forbidden");
    expect(await code(h.ask(CH, { type: "kick", user: "cy", member: "bob" }))).toBe("forbidden");
    expect(await code(h.ask(CH, { type: "kick", user: "ann", member: "bob" }))).toBe("ok");
  });

  it("moderation - a banned user is removed and refused join, invite, publish and subscribe until unbanned", async () => {
    const h = await moderated();
    expect(await code(h.ask(CH, { type: "ban", user: "mo", member: "bob" }))).toBe("ok");
    expect(h.to<SessionMsg>("session:bob")).toContainEqual({ type: "left", ch: "mod", reason: "banned" });
    expect(await code(h.ask(CH, { type: "join", user: "bob" }))).toBe("banned");
    expect(await code(h.ask(CH, { type: "invite", user: "ann", member: "bob" }))).toBe("banned");
    expect(await code(h.ask(CH, { type: "publish", user: "bob", clientId: "p", body: "x" }))).toBe("not_member");
    expect(await code(h.ask(CH, { type: "subscribe", user: "bob", edge: "edge:x", after: 0, limit: 10 }))).toBe("not_member");
    expect(await code(h.ask(CH, { type: "ban", user: "mo", member: "bob", unban: true }))).toBe("ok");
    expect(await code(h.ask(CH, { type: "join", user: "bob" }))).toBe("ok");
  });

  it("moderation - a user banned before ever joining cannot join", async () => {
    const h = await moderated();
    expect(await code(h.ask(CH, { type: "ban", user: "ann", member: "eve" }))).toBe("ok");
    expect(await code(h.ask(CH, { type: "join", user: "eve" }))).toBe("banned");
  });

  it("moderation - a muted member may not publish, react or edit until the mute ends; reading goes on", async () => {
    const h = await moderated();
    await h.ask(CH, { type: "publish", user: "bob", clientId: "p1", body: "before" });
    expect(await code(h.ask(CH, { type: "mute", user: "mo", member: "bob", ms: 60_000 }))).toBe("ok");
    expect(await code(h.ask(CH, { type: "publish", user: "bob", clientId: "p2", body: "x" }))).toBe("muted");
    expect(await code(h.ask(CH, { type: "edit", user: "bob", clientId: "e1", ref: 1, body: "x" }))).toBe("muted");
    expect(await code(h.ask(CH, { type: "react", user: "bob", clientId: "r1", ref: 1, emoji: "👍" }))).toBe("muted");
    expect(await code(h.ask(CH, { type: "history", user: "bob", limit: 10 }))).toBe("ok");
    h.clock.advance(60_001);
    expect(await code(h.ask(CH, { type: "publish", user: "bob", clientId: "p2", body: "after" }))).toBe("ok");
  });

  it("moderation - unmuting (ms 0) lifts a mute at once", async () => {
    const h = await moderated();
    await h.ask(CH, { type: "mute", user: "mo", member: "bob", ms: 60_000 });
    await h.ask(CH, { type: "mute", user: "mo", member: "bob", ms: 0 });
    expect(await code(h.ask(CH, { type: "publish", user: "bob", clientId: "p", body: "x" }))).toBe("ok");
  });

  it("moderation - in a private channel only moderators and the owner invite", async () => {
    const h = await moderated("private");
    expect(await code(h.ask(CH, { type: "invite", user: "bob", member: "eve" }))).toBe("forbidden");
    expect(await code(h.ask(CH, { type: "invite", user: "mo", member: "eve" }))).toBe("ok");
  });

  it("moderation - a direct conversation admits no third user and no moderation", async () => {
    const h = actorTestHost();
    const dm = "channel:dm:ann:bob";
    await h.ask(dm, { type: "create", user: "ann", visibility: "private", topic: "", members: ["bob"] });
    expect(await code(h.ask(dm, { type: "invite", user: "ann", member: "eve" }))).toBe("forbidden");
    expect(await code(h.ask(dm, { type: "kick", user: "ann", member: "bob" }))).toBe("forbidden");
    expect(await code(h.ask(dm, { type: "topic", user: "bob", topic: "us" }))).toBe("ok");
    await h.ask(dm, { type: "leave", user: "bob" });
    expect(await code(h.ask(dm, { type: "invite", user: "ann", member: "bob" }))).toBe("ok");
  });

  it("moderation - roles and bans survive a restart of the channel (snapshot)", async () => {
    const h = await moderated();
    await h.ask(CH, { type: "ban", user: "ann", member: "bob" });
    await h.ask(CH, { type: "mute", user: "ann", member: "cy", ms: 60_000 });
    const store = h.store;
    const h2 = actorTestHost(store);
    expect(await code(h2.ask(CH, { type: "join", user: "bob" }))).toBe("banned");
    expect(await code(h2.ask(CH, { type: "publish", user: "cy", clientId: "p", body: "x" }))).toBe("muted");
    expect(await h2.ask(CH, { type: "members", user: "ann" })).toMatchObject({ members: { ann: "owner", mo: "moderator", cy: "member" } });
  });
});
