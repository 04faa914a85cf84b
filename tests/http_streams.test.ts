import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { SseClient } from "./harness/sse_client.ts";
import { type StormProcess, startStorm } from "./harness/storm_process.ts";

/**
 * What only the HTTP streams have: SSE heartbeats, token expiry and slow readers, refusals before
 * the first event, and `POST /cmd`'s replies. The guarantees themselves (order, resume, retries,
 * access) are the transport conformance suite's (tests/transports.test.ts). The node runs with a
 * 1.5 s heartbeat window (a comment every 500 ms) and a 64 KiB buffering bound.
 */
let node: StormProcess;

beforeAll(async () => {
  node = await startStorm({ workers: 1, args: ["--heartbeat-ms", "1500", "--max-buffered", "65536"] });
}, 60_000);

afterAll(async () => {
  await node?.stop();
});

async function channel(owner: string, name: string, visibility: "public" | "private" = "public"): Promise<string> {
  const token = await node.token(owner);
  const r = await node.http("POST", "/channels", { token, body: { name, visibility } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return token;
}

describe("SSE", () => {
  test("sse - heartbeat comments keep an idle stream alive", async () => {
    const token = await channel("hb1", "sse-hb");
    const s = await SseClient.open(node.url, "ch=sse-hb:0", { token });
    await s.waitFor(() => s.comments.filter((c) => c.startsWith("hb ")).length >= 2, 10_000, "two heartbeats");
    expect(s.ended).toBe(false);
    s.close();
  });

  test("sse - a token that expires ends the stream with a token_expired err event", async () => {
    await channel("exp1", "sse-exp");
    const r = await node.http("POST", "/auth/dev-token", { body: { user: "exp1", ttl: 2 } });
    const s = await SseClient.open(node.url, `ch=sse-exp:0&token=${encodeURIComponent(r.body.token)}`);
    await s.waitFor(() => s.ended, 10_000, "end of stream");
    expect(s.frames.at(-1)).toMatchObject({ t: "err", code: "token_expired" });
  });

  test("sse - a channel the caller may not read refuses the stream before any event", async () => {
    await channel("own1", "sse-private", "private");
    const outsider = await node.token("out1");
    await expect(SseClient.open(node.url, "ch=sse-private:0", { token: outsider })).rejects.toMatchObject({ status: 404 });
    await expect(SseClient.open(node.url, "ch=sse-private:0")).rejects.toMatchObject({ status: 401 });
    await expect(SseClient.open(node.url, "ch=bad%20name:0", { token: outsider })).rejects.toMatchObject({ status: 400 });
  });

  test("sse - a reader past --max-buffered is ended with slow_consumer (G6)", async () => {
    const token = await channel("slow1", "sse-slow");
    // A raw socket that asks for the stream and then reads nothing until the end.
    const sock = connect(node.port, "127.0.0.1");
    const chunks: Buffer[] = [];
    await new Promise<void>((r) => sock.once("connect", () => r()));
    sock.write(`GET /sse?ch=sse-slow:0&token=${token} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await new Promise<void>((r) => sock.once("readable", () => r()));
    sock.pause();
    const body = "x".repeat(16_000);
    let ended = false;
    sock.once("end", () => (ended = true));
    for (let i = 0; i < 40 && !ended; i++) {
      await Promise.all(Array.from({ length: 20 }, (_, j) => node.http("POST", "/channels/sse-slow/messages", { token, body: { clientId: `c${i}-${j}`, body } })));
      // Whether the server gave up is only visible once we read: peek at the socket's state.
      if ((await node.http("GET", "/status", { token: await admin() })).body.sse === 0) break;
    }
    sock.on("data", (d: Buffer) => chunks.push(d));
    sock.resume();
    await new Promise<void>((r) => (ended ? r() : sock.once("end", () => r())));
    const text = Buffer.concat(chunks).toString("utf8");
    // The body is chunked: its last event is the last `data:` line.
    expect(text.split("\n").filter((l) => l.startsWith("data: ")).at(-1)).toContain('"code":"slow_consumer"');
  }, 120_000);
});

describe("POST /cmd", () => {
  test("cmd - every frame with an id gets its reply; sub and bad frames get typed errors", async () => {
    const token = await channel("cmd1", "cmd-general");
    const r = await node.http("POST", "/cmd", {
      token,
      body: [
        { t: "pub", id: 1, ch: "cmd-general", cid: "a", body: "one" },
        { t: "pub", id: 2, ch: "cmd-general", cid: "a", body: "one" },
        { t: "sub", id: 3, ch: "cmd-general" },
        { t: "ping" },
        { t: "nope", id: 4 },
        { t: "hist", id: 5, ch: "cmd-general", after: 0 },
      ],
    });
    expect(r.status).toBe(200);
    const byId = new Map((r.body as Array<{ id: number }>).map((f) => [f.id, f]));
    expect(r.body).toHaveLength(5);
    expect(byId.get(1)).toMatchObject({ t: "ack", seq: 1 });
    expect(byId.get(2)).toMatchObject({ t: "ack", seq: 1, dup: true });
    expect(byId.get(3)).toMatchObject({ t: "err", code: "bad_request" });
    expect(byId.get(4)).toMatchObject({ t: "err", code: "bad_request" });
    expect(byId.get(5)).toMatchObject({ t: "hist", m: [{ seq: 1, body: "one" }] });
  });

  test("cmd - a body that is not JSON, or too many frames, refuses the whole request", async () => {
    const token = await node.token("cmd2");
    expect(await node.http("POST", "/cmd", { token, raw: "{nope" })).toMatchObject({ status: 400, body: { error: { code: "bad_request" } } });
    const many = Array.from({ length: 257 }, () => ({ t: "ping" }));
    expect(await node.http("POST", "/cmd", { token, body: many })).toMatchObject({ status: 413, body: { error: { code: "too_large" } } });
    expect(await node.http("POST", "/cmd", { body: { t: "ping", id: 1 } })).toMatchObject({ status: 401 });
  });
});

let adminToken: string | undefined;
async function admin(): Promise<string> {
  adminToken ??= (await node.http("POST", "/auth/dev-token", { body: { user: "root", role: "admin" } })).body.token as string;
  return adminToken!;
}
