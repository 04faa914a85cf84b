import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type StormProcess, startStorm } from "./harness/storm_process.ts";
import { WsClient } from "./harness/ws_client.ts";

/**
 * Rate limits per user, per connection and per IP, on REST, frames and connection attempts, with
 * small limits so a test reaches them in a few requests. `perUser` has tight user and connection
 * limits and a loose per-IP one; `perIp` the reverse (every test here comes from 127.0.0.1).
 * Across nodes: tests/transports.test.ts (cluster).
 */
let perUser: StormProcess;
let perIp: StormProcess;
const clients: WsClient[] = [];

beforeAll(async () => {
  [perUser, perIp] = await Promise.all([
    startStorm({ workers: 1, startTimeoutMs: 120_000, args: ["--rl-api-user", "5/600", "--rl-publish-conn", "5/600", "--rl-publish-user", "8/600", "--rl-connect-user", "3/600"] }),
    startStorm({ workers: 1, startTimeoutMs: 120_000, args: ["--rl-request-ip", "12/600", "--rl-connect-ip", "2/600"] }),
  ]);
}, 180_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all([perUser?.stop(), perIp?.stop()]);
});

/** A GET from a given local address (127.0.0.x), to tell clients apart by IP. */
function getFrom(node: StormProcess, path: string, localAddress: string): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: node.port, path, localAddress }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString("utf8")));
      res.on("end", () => resolve({ status: res.statusCode!, retryAfter: res.headers["retry-after"] as string | undefined, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("rate limits", () => {
  test("rate limits - a user's /api requests past the limit get 429 rate_limited with Retry-After; another user is not affected", async () => {
    const a = await perUser.token("rl-a");
    for (let i = 0; i < 5; i++) expect((await perUser.http("GET", "/api/sync/status", { token: a })).status).toBe(200);
    const res = await fetch(`${perUser.url}/api/sync/status`, { headers: { authorization: `Bearer ${a}` } });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await res.json()).toMatchObject({ error: { code: "rate_limited", retry: "retry", retryMs: expect.any(Number) } });
    expect((await perUser.http("GET", "/api/sync/status", { token: await perUser.token("rl-b") })).status).toBe(200);
  });

  test("rate limits - publishes past a connection's limit get err rate_limited with retryMs, and past the user's limit on every connection", async () => {
    const token = await perUser.token("rl-pub");
    expect((await perUser.http("POST", "/channels", { token, body: { name: "rl-pub" } })).status).toBe(201);
    const c1 = await WsClient.connect(perUser.wsUrl, token);
    const c2 = await WsClient.connect(perUser.wsUrl, token);
    clients.push(c1, c2);
    for (let i = 0; i < 5; i++) expect(await c1.request({ t: "pub", ch: "rl-pub", cid: `a${i}`, body: "x" })).toMatchObject({ t: "ack" });
    const refused = await c1.request({ t: "pub", ch: "rl-pub", cid: "a5", body: "x" });
    expect(refused).toMatchObject({ t: "err", code: "rate_limited", retry: "retry" });
    expect(refused["retryMs"]).toBeGreaterThan(0);
    // The user has 3 of 8 left, on any connection; then none.
    for (let i = 0; i < 3; i++) expect(await c2.request({ t: "pub", ch: "rl-pub", cid: `b${i}`, body: "x" })).toMatchObject({ t: "ack" });
    expect(await c2.request({ t: "pub", ch: "rl-pub", cid: "b3", body: "x" })).toMatchObject({ t: "err", code: "rate_limited" });
    // Refused publishes were not appended: the channel holds exactly the 8 acknowledged ones.
    expect((await perUser.http("GET", "/channels/rl-pub/messages?after=0", { token })).body.last).toBe(8);
  });

  test("rate limits - a user's connections past the limit are refused at upgrade with 429", async () => {
    const token = await perUser.token("rl-conn");
    for (let i = 0; i < 3; i++) clients.push(await WsClient.connect(perUser.wsUrl, token));
    await expect(WsClient.connect(perUser.wsUrl, token)).rejects.toThrow(/429/);
  });

  test("rate limits - requests from one address past its limit get 429, whoever sends them; another address is not affected", async () => {
    for (let i = 0; i < 12; i++) expect((await getFrom(perIp, "/healthz", "127.0.0.2")).status).toBe(200);
    const refused = await getFrom(perIp, "/healthz", "127.0.0.2");
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: "rate_limited" } });
    expect((await getFrom(perIp, "/healthz", "127.0.0.3")).status).toBe(200);
  });

  test("rate limits - connection attempts from one address past its limit are refused before authentication", async () => {
    const token = await perIp.token("rl-ip");
    for (let i = 0; i < 2; i++) clients.push(await WsClient.connect(perIp.wsUrl, token));
    await expect(WsClient.connect(perIp.wsUrl, token)).rejects.toThrow(/429/);
  });
});
