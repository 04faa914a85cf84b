import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type StormProcess, startStorm } from "./harness/storm_process.ts";

/**
 * Seed 004's sync API: its shapes, the bounded per-user queue (3 events here, so overflow is
 * reached) whose losses are reported, the admin-only broadcast with its topic filter, and a queue
 * that outlives the node process (it is in the session actor's snapshot, not in edge memory).
 */
let node: StormProcess;

beforeAll(async () => {
  node = await startStorm({ workers: 1, args: ["--sync-queue-max", "3", "--dev-admin"] });
}, 60_000);

afterAll(async () => {
  await node?.stop();
});

const poll = async (token: string, since: string) => (await node.http("GET", `/api/sync/poll?since=${encodeURIComponent(since)}`, { token })).body;

describe("/api/sync", () => {
  test("sync - a send is queued for the user's other devices, once per correlation id, with the seed's shapes", async () => {
    const token = await node.token("sy1");
    const sent = await node.http("POST", "/api/sync/send", { token, body: { type: "user.action", payload: { click: 1 }, correlationId: "k1" } });
    expect(sent).toMatchObject({ status: 200, body: { success: true, messageId: expect.any(String), timestamp: expect.any(Number) } });
    const again = await node.http("POST", "/api/sync/send", { token, body: { type: "user.action", payload: { click: 1 }, correlationId: "k1" } });
    expect(again.body.messageId).toBe(sent.body.messageId);
    const p = await poll(token, "0");
    expect(p).toMatchObject({ success: true, count: 1, timestamp: expect.any(Number), cursor: expect.any(String), dropped: 0 });
    expect(p.messages).toEqual([{ id: sent.body.messageId, type: "user.action", payload: { click: 1 }, timestamp: sent.body.timestamp, userId: "sy1", correlationId: "k1" }]);
    // The cursor names what was returned: polling from it returns nothing new.
    expect(await poll(token, p.cursor)).toMatchObject({ count: 0, messages: [] });
  });

  test("sync - a poll returns the messages of the user's channels after the cursor, then only newer ones", async () => {
    const token = await node.token("sy2");
    expect((await node.http("POST", "/channels", { token, body: { name: "sync-ch" } })).status).toBe(201);
    await node.http("POST", "/channels/sync-ch/messages", { token, body: { clientId: "a", body: "one" } });
    const first = await poll(token, "0");
    expect(first.messages.filter((m: { type: string }) => m.type === "message").map((m: { payload: { seq: number } }) => m.payload.seq)).toEqual([1]);
    await node.http("POST", "/channels/sync-ch/messages", { token, body: { clientId: "b", body: "two" } });
    const second = await poll(token, first.cursor);
    expect(second.messages).toMatchObject([{ id: "sync-ch:2", type: "message", payload: { ch: "sync-ch", seq: 2, body: "two" }, userId: "sy2" }]);
  });

  test("sync - events past the queue bound are reported as dropped, never lost silently", async () => {
    const token = await node.token("sy3");
    const before = await poll(token, "0");
    for (let i = 0; i < 5; i++) await node.http("POST", "/api/sync/send", { token, body: { type: "n", payload: i } });
    const p = await poll(token, before.cursor);
    expect(p.messages.map((m: { payload: number }) => m.payload)).toEqual([2, 3, 4]);
    expect(p.dropped).toBe(2);
    // The seed's timestamp form is told too.
    expect((await poll(token, "1")).dropped).toBe(2);
  });

  test("sync - broadcast is for admins, and a topic filter reaches only that channel's members", async () => {
    const a = await node.token("sy4");
    const b = await node.token("sy5");
    const admin = (await node.http("POST", "/auth/dev-token", { body: { user: "sy-admin", role: "admin" } })).body.token as string;
    await node.http("POST", "/channels", { token: a, body: { name: "sync-topic" } });
    expect(await node.http("POST", "/api/sync/broadcast", { token: a, body: { type: "x" } })).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } });
    const r = await node.http("POST", "/api/sync/broadcast", { token: admin, body: { type: "announcement", payload: "hi", topics: ["sync-topic"] } });
    expect(r).toMatchObject({ status: 200, body: { success: true, recipients: 1 } });
    expect((await poll(a, "0")).messages).toContainEqual(expect.objectContaining({ type: "announcement", payload: "hi", userId: "sy-admin", topics: ["sync-topic"] }));
    expect((await poll(b, "0")).messages.filter((m: { type: string }) => m.type === "announcement")).toEqual([]);
  });

  test("sync - status reports connections, subscriptions and the caller's queue", async () => {
    const token = await node.token("sy6");
    await node.http("POST", "/api/sync/send", { token, body: { type: "t" } });
    const r = await node.http("GET", "/api/sync/status", { token });
    expect(r.body).toMatchObject({
      success: true,
      status: { websocket: { enabled: true, connections: expect.any(Number), totalConnections: expect.any(Number), subscriptions: expect.any(Number) }, polling: { enabled: true, endpoint: "/api/sync/poll", queues: 1, messages: 1 }, lastCheck: expect.any(Number) },
    });
  });

  test("sync - bad input gets typed errors: unknown since, oversized payload, unknown field", async () => {
    const token = await node.token("sy7");
    expect(await node.http("GET", "/api/sync/poll?since=yesterday", { token })).toMatchObject({ status: 400, body: { error: { code: "bad_request" } } });
    expect(await node.http("POST", "/api/sync/send", { token, body: { type: "t", payload: "x".repeat(5000) } })).toMatchObject({ status: 413 });
    expect(await node.http("POST", "/api/sync/send", { token, body: { type: "t", extra: 1 } })).toMatchObject({ status: 400 });
    expect(await node.http("GET", "/api/sync/poll")).toMatchObject({ status: 401 });
  });

  test("sync - the queue survives the node process: it is durable in the user's session", async () => {
    const token = await node.token("sy8");
    const sent = await node.http("POST", "/api/sync/send", { token, body: { type: "kept", payload: 1 } });
    await node.kill("SIGKILL");
    await node.restart();
    const p = await poll(await node.token("sy8"), "0");
    expect(p.messages).toContainEqual(expect.objectContaining({ id: sent.body.messageId, type: "kept" }));
  }, 120_000);
});
