import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { storeMatrix } from "./harness/store_matrix.ts";
import { type StormProcess, startStorm } from "./harness/storm_process.ts";
import { WebhookReceiver } from "./harness/webhook_receiver.ts";
import { WsClient } from "./harness/ws_client.ts";

/**
 * Webhooks end to end, on each store: a real node delivers to a real HTTP receiver that fails,
 * stalls and restarts; a node killed with SIGKILL resumes from the store; past the backlog bound a
 * dead letter is recorded; bad registrations get typed errors.
 */
const { stores, nodes, clients, cleanups } = storeMatrix();
const receivers: WebhookReceiver[] = [];
cleanups.push(() => Promise.all(receivers.map((r) => r.stop())).then(() => undefined));

describe.each(stores)("webhooks on %s", (_store, storeArgs) => {
  let node: StormProcess;
  let key: string;
  const fast = ["--webhook-poll-ms", "50", "--webhook-retry-base-ms", "50", "--webhook-retry-max-ms", "400", "--webhook-lease-ms", "2000"];

  beforeAll(async () => {
    node = await startStorm({ workers: 1, dataDir: await mkdtemp(join(tmpdir(), "storm-webhooks-")), args: ["--dev-admin", "--rate-limits", "off", ...fast, ...storeArgs()] });
    nodes.push(node);
    const admin = (await node.http("POST", "/auth/dev-token", { body: { user: "ops", role: "admin" } })).body.token as string;
    key = (await node.http("POST", "/admin/keys", { token: admin, body: { scopes: ["webhooks", "admin"], name: "hooks" } })).body.key as string;
  }, 120_000);

  async function server(method: string, path: string, body?: unknown) {
    return node.http(method, path, { token: key, body });
  }

  async function channel(ch: string): Promise<void> {
    expect((await server("POST", "/server/channels", { name: ch, members: ["ann", "bob"] })).status).toBe(201);
  }

  /** A receiver and its endpoint for `ch` (created first unless `exists`). */
  async function receiverFor(ch: string, events: string[], extra: Record<string, unknown> = {}, exists = false): Promise<{ rx: WebhookReceiver; id: string }> {
    const rx = new WebhookReceiver();
    receivers.push(rx);
    await rx.start();
    if (!exists) await channel(ch);
    const r = await server("POST", "/server/webhooks", { url: rx.url, events, channels: [ch], timeoutMs: 300, ...extra });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    rx.secret = r.body.secret as string;
    return { rx, id: r.body.id as string };
  }

  async function pub(ch: string, user: string, clientId: string, body: string): Promise<number> {
    const r = await node.http("POST", `/channels/${ch}/messages`, { token: await node.token(user), body: { clientId, body } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.seq as number;
  }

  test("webhooks - every event arrives signed, in order, through a receiver that fails, stalls and restarts", async () => {
    const ch = "hooked";
    const { rx } = await receiverFor(ch, ["message", "edit", "delete", "reaction", "membership", "presence"]);
    rx.mode = "fail";
    const s1 = await pub(ch, "ann", "a1", "one");
    const s2 = await pub(ch, "bob", "b1", "two");
    await rx.waitFor(() => rx.deliveries.filter((d) => d.status === 500).length >= 3, "three refused attempts");
    rx.mode = "stall";
    await node.http("PATCH", `/channels/${ch}/messages/${s1}`, { token: await node.token("ann"), body: { clientId: "a2", body: "one, edited" } });
    await rx.waitFor(() => rx.deliveries.some((d) => d.status === 0), "a stalled attempt");
    rx.mode = "ok";
    await rx.waitFor(() => rx.acknowledged().length >= 6, "the first six events");
    await rx.stop();
    await node.http("POST", `/channels/${ch}/messages/${s2}/reactions`, { token: await node.token("ann"), body: { clientId: "a3", emoji: "👍" } });
    await node.http("DELETE", `/channels/${ch}/messages/${s2}?clientId=b2`, { token: await node.token("bob") });
    await server("POST", `/server/channels/${ch}/members`, { user: "cat" });
    const ws = await WsClient.connect(node.wsUrl, await node.token("cat"));
    clients.push(ws);
    await ws.ask({ t: "sub", ch, after: 0 });
    const s6 = await pub(ch, "cat", "c1", "three");
    await rx.start();
    await rx.waitFor(() => rx.acknowledged().includes(`${ch}:${s6}`), "the last message after the receiver's restart");
    const acked = rx.acknowledged();
    // In seq order, each channel event after the seq it followed; nothing missing, nothing twice.
    // The channel's creation added system (its owner), ann and bob: three membership events first.
    expect(acked.map((id) => id.replace(/:e\d+$/, ":e"))).toEqual([
      `${ch}:0:e`, `${ch}:0:e`, `${ch}:0:e`, `${ch}:${s1}`, `${ch}:${s2}`, `${ch}:3`, `${ch}:4`, `${ch}:5`, `${ch}:5:e`, `${ch}:5:e`, `${ch}:${s6}`,
    ]);
    const byId = new Map(rx.deliveries.filter((d) => d.status === 200).map((d) => [d.id, d.body]));
    expect(byId.get(`${ch}:${s1}`)).toMatchObject({ type: "message", channel: ch, seq: s1, from: "ann", cid: "a1", body: "one" });
    expect(byId.get(`${ch}:3`)).toMatchObject({ type: "edit", ref: s1, body: "one, edited", from: "ann" });
    expect(byId.get(`${ch}:4`)).toMatchObject({ type: "reaction", ref: s2, emoji: "👍", added: true });
    expect(byId.get(`${ch}:5`)).toMatchObject({ type: "delete", ref: s2, from: "bob" });
    expect(acked.filter((id) => id.includes(":e")).map((id) => byId.get(id))).toMatchObject([
      { type: "membership", user: "system", joined: true, afterSeq: 0 },
      { type: "membership", user: "ann", joined: true, by: "system", afterSeq: 0 },
      { type: "membership", user: "bob", joined: true, by: "system", afterSeq: 0 },
      { type: "membership", user: "cat", joined: true, afterSeq: 5 },
      { type: "presence", user: "cat", online: true, afterSeq: 5 },
    ]);
    expect(rx.deliveries.every((d) => d.signed)).toBe(true);
    // The refused and the stalled attempts were retried with the same idempotency key.
    const first = rx.deliveries.filter((d) => d.id === acked[0]).map((d) => d.status);
    expect(first.slice(0, 3)).toEqual([500, 500, 500]);
    expect(first.filter((st) => st === 200)).toEqual([200]);
    expect(first.at(-1)).toBe(200);
    const stalled = rx.deliveries.find((d) => d.status === 0)!.id;
    expect(rx.deliveries.some((d) => d.id === stalled && d.status === 200)).toBe(true);
  }, 90_000);

  test("webhooks - a node killed with SIGKILL resumes delivery from the store after a restart", async () => {
    const ch = "crashy";
    const { rx } = await receiverFor(ch, ["message"]);
    for (let i = 1; i <= 3; i++) await pub(ch, "ann", `k${i}`, `before ${i}`);
    await rx.waitFor(() => rx.acknowledged().length === 3, "the first three");
    await rx.stop();
    for (let i = 4; i <= 10; i++) await pub(ch, "ann", `k${i}`, `pending ${i}`);
    await node.kill("SIGKILL");
    await rx.start();
    await node.restart();
    await rx.waitFor(() => rx.acknowledged().length === 10, "all ten after the restart", 60_000);
    expect(rx.acknowledged()).toEqual(Array.from({ length: 10 }, (_, i) => `${ch}:${i + 1}`));
  }, 120_000);

  test("webhooks - past the backlog bound the oldest events become a dead letter, listed; the rest arrive", async () => {
    const ch = "backlog";
    // Eight messages wait before the endpoint exists: its first failure finds them all pending.
    await channel(ch);
    for (let i = 1; i <= 8; i++) await pub(ch, "ann", `q${i}`, `m${i}`);
    const { rx, id } = await receiverFor(ch, ["message"], { maxBacklog: 3 }, true);
    rx.mode = "fail";
    let dead: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 300 && dead.length === 0; i++) {
      dead = (await server("GET", `/server/webhooks/${id}/dead`)).body.deadLetters;
      if (dead.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(dead).toMatchObject([{ channel: ch, from: `${ch}:1`, to: `${ch}:5`, count: 5, reason: "backlog", lastError: "HTTP 500" }]);
    rx.mode = "ok";
    await rx.waitFor(() => rx.acknowledged().length === 3, "the three kept");
    expect(rx.acknowledged()).toEqual([`${ch}:6`, `${ch}:7`, `${ch}:8`]);
  }, 90_000);

  test("webhooks - a bad registration gets a typed error", async () => {
    await server("POST", "/server/channels", { name: "reg" });
    const bad = async (body: unknown) => (await server("POST", "/server/webhooks", body)).body.error?.code;
    expect(await bad({ url: "ftp://127.0.0.1/x", events: ["message"], channels: ["reg"] })).toBe("bad_request");
    expect(await bad({ url: "http://127.0.0.1/x", events: ["typing"], channels: ["reg"] })).toBe("bad_request");
    expect(await bad({ url: "http://127.0.0.1/x", events: [], channels: ["reg"] })).toBe("bad_request");
    expect(await bad({ url: "http://127.0.0.1/x", events: ["message"], channels: ["nowhere"] })).toBe("channel_not_found");
    expect(await bad({ url: "http://127.0.0.1/x", events: ["message"], channels: ["reg"], secret: "short" })).toBe("bad_request");
    const admin = (await node.http("POST", "/auth/dev-token", { body: { user: "ops", role: "admin" } })).body.token as string;
    const pubKey = (await node.http("POST", "/admin/keys", { token: admin, body: { scopes: ["publish"] } })).body.key as string;
    expect((await node.http("POST", "/server/webhooks", { token: pubKey, body: { url: "http://127.0.0.1/x", events: ["message"], channels: ["reg"] } })).status).toBe(403);
    expect((await node.http("GET", "/server/webhooks")).status).toBe(401);
    expect((await server("DELETE", "/server/webhooks/wh_nope")).status).toBe(404);
  }, 60_000);
});
