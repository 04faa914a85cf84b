import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { SseClient } from "./harness/sse_client.ts";
import { type StormProcess, startStorm } from "./harness/storm_process.ts";
import { type Frame, WsClient } from "./harness/ws_client.ts";

/**
 * The chat features end to end on a real node: edits and deletes as entries (resume sees them in
 * order), current versions in history, reactions and threads, notifications that reach every
 * connection of a user, moderation refused on every transport, and search that never leaks.
 */
let node: StormProcess;
const open: WsClient[] = [];

beforeAll(async () => {
  node = await startStorm({ workers: 1 });
}, 60_000);

afterAll(async () => {
  for (const c of open) await c.close().catch(() => {});
  await node?.stop();
});

async function ws(user: string, enc?: "compact"): Promise<WsClient> {
  const c = await WsClient.connect(node.wsUrl, await node.token(user), 10_000, enc);
  open.push(c);
  return c;
}

async function channel(owner: string, name: string, members: string[] = [], visibility: "public" | "private" = "public"): Promise<string> {
  const token = await node.token(owner);
  const r = await node.http("POST", "/channels", { token, body: { name, visibility, members } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return token;
}

const entry = (m: Record<string, unknown>) => [m["seq"], m["kind"] ?? "msg", m["ref"], m["body"]];

describe("edits and deletes", () => {
  test("chat - an edit and a delete are seen in order, as entries, by a subscriber resuming from before them (json and compact)", async () => {
    const ann = await channel("ann1", "ed-resume", ["bob1"]);
    await node.http("POST", "/channels/ed-resume/messages", { token: ann, body: { clientId: "m1", body: "hello" } });
    await node.http("POST", "/channels/ed-resume/messages", { token: ann, body: { clientId: "m2", body: "typo" } });
    expect(await node.http("PATCH", "/channels/ed-resume/messages/2", { token: ann, body: { clientId: "e2", body: "fixed" } })).toMatchObject({ status: 201, body: { seq: 3 } });
    expect(await node.http("DELETE", "/channels/ed-resume/messages/1", { token: ann })).toMatchObject({ status: 201, body: { seq: 4 } });
    expect(await node.http("DELETE", "/channels/ed-resume/messages/1", { token: ann })).toMatchObject({ status: 200, body: { seq: 4, duplicate: true } });
    for (const enc of [undefined, "compact"] as const) {
      const bob = await ws("bob1", enc);
      await bob.ask({ t: "sub", ch: "ed-resume", after: 1 });
      await bob.waitForCount("ed-resume", 3);
      expect(bob.messages("ed-resume").map((m) => entry(m as unknown as Record<string, unknown>))).toEqual([
        [2, "msg", undefined, "typo"],
        [3, "edit", 2, "fixed"],
        [4, "delete", 1, ""],
      ]);
    }
  });

  test("chat - live subscribers on WebSocket and SSE get edits as msgs entries", async () => {
    const ann = await channel("ann2", "ed-live", ["bob2"]);
    const bob = await ws("bob2");
    await bob.ask({ t: "sub", ch: "ed-live" });
    const sse = await SseClient.open(node.url, "ch=ed-live:0", { token: await node.token("bob2") });
    const a = await ws("ann2");
    expect(await a.ask({ t: "pub", ch: "ed-live", cid: "p1", body: "v1" })).toMatchObject({ t: "ack", seq: 1 });
    expect(await a.ask({ t: "edit", ch: "ed-live", seq: 1, cid: "e1", body: "v2" })).toMatchObject({ t: "ack", seq: 2 });
    await bob.waitForCount("ed-live", 2);
    expect(bob.messages("ed-live").map((m) => entry(m as unknown as Record<string, unknown>))).toEqual([[1, "msg", undefined, "v1"], [2, "edit", 1, "v2"]]);
    await sse.waitFor(() => sse.seqs("ed-live").length >= 2, 10_000, "two entries on SSE");
    const last = sse.frames.filter((f) => f.t === "msgs").flatMap((f) => f["m"] as Array<Record<string, unknown>>).at(-1)!;
    expect(entry(last)).toEqual([2, "edit", 1, "v2"]);
    sse.close();
    void ann;
  });

  test("chat - history shows the current version: edited, a tombstone, reactions, reply counts; a thread reads on its own", async () => {
    const ann = await channel("ann3", "ed-hist", ["bob3"]);
    const bob = await node.token("bob3");
    const post = (token: string, clientId: string, body: string, parent?: number) =>
      node.http("POST", "/channels/ed-hist/messages", { token, body: { clientId, body, ...(parent ? { parent } : {}) } });
    await post(ann, "m1", "original");
    await post(bob, "m2", "to delete");
    await node.http("PATCH", "/channels/ed-hist/messages/1", { token: ann, body: { clientId: "e1", body: "edited" } });
    expect(await node.http("DELETE", "/channels/ed-hist/messages/2", { token: ann })).toMatchObject({ status: 201 }); // the owner deletes bob's
    for (const [token, cid] of [[ann, "r1"], [bob, "r2"], [bob, "r3"]] as const) {
      await node.http("POST", "/channels/ed-hist/messages/1/reactions", { token, body: { clientId: cid, emoji: "👍" } });
    }
    expect(await post(bob, "t1", "a reply", 1)).toMatchObject({ status: 201 });
    const r = await node.http("GET", "/channels/ed-hist/messages?after=0", { token: bob });
    const [first, second] = r.body.messages as Array<Record<string, unknown>>;
    expect(first).toMatchObject({ seq: 1, body: "edited", edited: true, reactions: { "👍": 2 }, replies: 1 });
    expect(second).toMatchObject({ seq: 2, body: "", deleted: true });
    const thread = await node.http("GET", "/channels/ed-hist/messages?thread=1", { token: bob });
    expect((thread.body.messages as Array<{ seq: number; body: string }>).map((m) => [m.seq, m.body])).toEqual([[1, "edited"], [8, "a reply"]]);
    const c = await ws("bob3");
    const h = await c.ask({ t: "hist", ch: "ed-hist", thread: 1 });
    expect((h["m"] as Array<{ seq: number }>).map((m) => m.seq)).toEqual([1, 8]);
    expect(await c.request({ t: "edit", ch: "ed-hist", seq: 1, cid: "x", body: "not mine" })).toMatchObject({ t: "err", code: "forbidden" });
  });
});

describe("notifications that follow the user", () => {
  test("chat - a new DM reaches two tabs of a user who subscribed to nothing", async () => {
    const tabs = [await ws("dmbob"), await ws("dmbob")];
    const ann = await ws("dmann");
    const opened = await ann.ask({ t: "dm", user: "dmbob" });
    const ch = opened["ch"] as string;
    expect(await ann.ask({ t: "pub", ch, cid: "d1", body: "psst" })).toMatchObject({ seq: 1 });
    for (const tab of tabs) {
      await tab.waitForFrame((f) => f.t === "user" && f["ev"] === "dm", 10_000, "dm event");
      const events = tab.frames.filter((f) => f.t === "user").map(({ t: _t, ...rest }) => rest);
      expect(events).toEqual([{ ev: "invited", ch, by: "dmann" }, { ev: "dm", ch, seq: 1, from: "dmann" }]);
    }
  });

  test("chat - a mention reaches the user's SSE stream too, and welcome counts unread and mentions", async () => {
    const ann = await channel("mnann", "mention", ["mnbob"]);
    const sse = await SseClient.open(node.url, "", { token: await node.token("mnbob") });
    await node.http("POST", "/channels/mention/messages", { token: ann, body: { clientId: "m1", body: "ping @mnbob" } });
    await node.http("POST", "/channels/mention/messages", { token: ann, body: { clientId: "m2", body: "and more" } });
    await sse.waitFor(() => sse.frames.some((f) => f.t === "user" && f["ev"] === "mention"), 10_000, "mention event");
    sse.close();
    const bob = await ws("mnbob");
    expect(bob.welcome).toMatchObject({ unread: { mention: 2 }, mentions: { mention: 1 } });
    await bob.ask({ t: "read", ch: "mention", seq: 2 });
    expect((await node.http("GET", "/users/me", { token: await node.token("mnbob") })).body).toMatchObject({ unread: {}, mentions: {}, lasts: { mention: 2 } });
    await channel("mnann", "not-mine");
    expect(await bob.request({ t: "read", ch: "not-mine", seq: 1 })).toMatchObject({ t: "err", code: "not_member" });
  });
});

describe("moderation", () => {
  test("chat - a banned user is refused on every transport", async () => {
    const ann = await channel("bnann", "banned", ["bnbob"]);
    expect(await node.http("PUT", "/channels/banned/bans/bnbob", { token: ann })).toMatchObject({ status: 200 });
    const bob = await node.token("bnbob");
    // REST
    expect(await node.http("POST", "/channels/banned/members", { token: bob, body: { user: "bnbob" } })).toMatchObject({ status: 403, body: { error: { code: "banned" } } });
    expect(await node.http("POST", "/channels/banned/messages", { token: bob, body: { clientId: "x", body: "x" } })).toMatchObject({ status: 403, body: { error: { code: "not_member" } } });
    expect(await node.http("GET", "/channels/banned/messages", { token: bob })).toMatchObject({ status: 403 });
    // WebSocket
    const c = await ws("bnbob");
    expect(await c.request({ t: "join", ch: "banned" })).toMatchObject({ t: "err", code: "banned" });
    expect(await c.request({ t: "sub", ch: "banned" })).toMatchObject({ t: "err", code: "not_member" });
    expect(await c.request({ t: "pub", ch: "banned", cid: "y", body: "y" })).toMatchObject({ t: "err", code: "not_member" });
    // POST /cmd
    const cmd = await node.http("POST", "/cmd", { token: bob, body: [{ t: "join", id: 1, ch: "banned" }, { t: "pub", id: 2, ch: "banned", cid: "z", body: "z" }] });
    expect(cmd.body).toEqual(expect.arrayContaining([expect.objectContaining({ id: 1, code: "banned" }), expect.objectContaining({ id: 2, code: "not_member" })]));
    // SSE and long-poll
    await expect(SseClient.open(node.url, "ch=banned:0", { token: bob })).rejects.toMatchObject({ status: 403 });
    expect(await node.http("GET", "/poll?ch=banned:0&wait=0", { token: bob })).toMatchObject({ status: 403 });
    // Unbanned, bob may join again.
    expect(await node.http("DELETE", "/channels/banned/bans/bnbob", { token: ann })).toMatchObject({ status: 200 });
    expect(await c.request({ t: "join", ch: "banned" })).toMatchObject({ t: "ok" });
  });

  test("chat - a kicked member's sockets stop receiving; a muted member is refused with muted; roles gate who moderates", async () => {
    const ann = await channel("kann", "kick", ["kbob", "kcy"]);
    const bob = await ws("kbob");
    await bob.ask({ t: "sub", ch: "kick" });
    const cy = await ws("kcy");
    expect(await cy.request({ t: "kick", ch: "kick", user: "kbob" })).toMatchObject({ t: "err", code: "forbidden" });
    expect(await node.http("PUT", "/channels/kick/members/kcy/role", { token: ann, body: { role: "moderator" } })).toMatchObject({ status: 200 });
    expect(await cy.request({ t: "mute", ch: "kick", user: "kbob", ms: 60_000 })).toMatchObject({ t: "ok" });
    expect(await bob.request({ t: "pub", ch: "kick", cid: "m", body: "x" })).toMatchObject({ t: "err", code: "muted", retry: "retry" });
    expect(await cy.request({ t: "kick", ch: "kick", user: "kbob" })).toMatchObject({ t: "ok" });
    await bob.waitForFrame((f: Frame) => f.t === "user" && f["ev"] === "left" && f["reason"] === "kicked", 10_000, "kicked event");
    const probe = await ws("kann");
    await probe.ask({ t: "sub", ch: "kick" });
    await node.http("POST", "/channels/kick/messages", { token: ann, body: { clientId: "after", body: "after the kick" } });
    // The same edge fans the batch out to both sockets: once the probe has it, bob would have too.
    await probe.waitFor(() => probe.messages("kick").some((m) => m.body === "after the kick"), 10_000, "the probe's copy");
    expect(bob.messages("kick").map((m) => m.body)).not.toContain("after the kick");
    expect(await node.http("PATCH", "/channels/kick", { token: await node.token("kcy"), body: { visibility: "private" } })).toMatchObject({ status: 403 });
    expect(await node.http("PATCH", "/channels/kick", { token: ann, body: { visibility: "private", topic: "closed" } })).toMatchObject({ status: 200, body: { visibility: "private", topic: "closed" } });
  });
});

describe("search", () => {
  test("chat - search finds the user's channels only, never a private channel they are not in, newest first and paged", async () => {
    const word = `pineapple${Date.now() % 100000}`;
    const ann = await channel("sann", "search-open", ["sbob"]);
    await channel("sann", "search-secret", [], "private");
    for (const [ch, cid, body] of [["search-open", "o1", `an open ${word}`], ["search-secret", "s1", `a secret ${word}`], ["search-open", "o2", `another ${word}`]]) {
      expect(await node.http("POST", `/channels/${ch}/messages`, { token: ann, body: { clientId: cid, body } })).toMatchObject({ status: 201 });
    }
    const bob = await node.token("sbob");
    const r = await node.http("GET", `/search?q=${word}`, { token: bob });
    expect(r.status).toBe(200);
    expect((r.body.hits as Array<{ ch: string; body: string }>).map((h) => [h.ch, h.body])).toEqual([["search-open", `another ${word}`], ["search-open", `an open ${word}`]]);
    const annHits = (await node.http("GET", `/search?q=${word}&limit=2`, { token: ann })).body;
    expect(annHits.hits.map((h: { ch: string }) => h.ch)).toEqual(["search-open", "search-secret"]);
    const more = (await node.http("GET", `/search?q=${word}&limit=2&before=${encodeURIComponent(annHits.next)}`, { token: ann })).body;
    expect(more.hits.map((h: { ch: string }) => h.ch)).toEqual(["search-open"]);
    const c = await ws("sbob");
    const frame = await c.ask({ t: "search", q: `secret ${word}` });
    expect(frame["hits"]).toEqual([]);
    expect(await node.http("GET", "/search", { token: bob })).toMatchObject({ status: 400 });
  });
});
