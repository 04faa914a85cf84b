import { spawnSync } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { httpJson } from "./harness/http.ts";
import { type StormProcess, startStorm } from "./harness/storm_process.ts";
import { WsClient } from "./harness/ws_client.ts";

/**
 * The server API end to end on a real node: keys created over the admin routes and with the
 * `storm keys` command, publish (exactly once), broadcast, channels and members, presence,
 * disconnect and token revocation with their close codes. Key storage on both stores is in the
 * store conformance suite.
 */
const ENTRY = join(fileURLToPath(new URL("../", import.meta.url)), "dist", "bin", "storm.js");
let node: StormProcess;
let dataDir: string;
const clients: WsClient[] = [];
let adminJwt: string;
const keys: Record<string, { id: string; key: string }> = {};

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "storm-keys-"));
  node = await startStorm({ workers: 1, dataDir, args: ["--rate-limits", "off", "--dev-admin"] });
  adminJwt = (await node.http("POST", "/auth/dev-token", { body: { user: "ops", role: "admin" } })).body.token;
  for (const scope of ["publish", "broadcast", "admin"]) {
    const r = await node.http("POST", "/admin/keys", { token: adminJwt, body: { scopes: [scope], name: `${scope} key` } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.key).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);
    keys[scope] = { id: r.body.id, key: r.body.key };
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await node?.stop();
});

async function server(method: string, path: string, scope: string, body?: unknown, header: "bearer" | "x-api-key" = "bearer") {
  const headers: Record<string, string> = header === "bearer" ? { authorization: `Bearer ${keys[scope]!.key}` } : { "x-api-key": keys[scope]!.key };
  const res = await fetch(node.url + path, { method, headers: { ...headers, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function connect(user: string): Promise<WsClient> {
  const c = await WsClient.connect(node.wsUrl, await node.token(user));
  clients.push(c);
  return c;
}

describe("server api", () => {
  test("server api - a backend creates a channel, adds a member and publishes as system exactly once", async () => {
    expect((await server("POST", "/server/channels", "admin", { name: "news", visibility: "private", owner: "editor" })).status).toBe(201);
    expect((await server("POST", "/server/channels/news/members", "admin", { user: "reader" })).status).toBe(200);
    const reader = await connect("reader");
    await reader.ask({ t: "sub", ch: "news", after: 0 });
    const first = await server("POST", "/server/publish", "publish", { channel: "news", clientId: "n1", body: "breaking" });
    expect(first).toEqual({ status: 201, body: { channel: "news", seq: 1, duplicate: false } });
    const retry = await server("POST", "/server/publish", "publish", { channel: "news", clientId: "n1", body: "breaking" }, "x-api-key");
    expect(retry).toEqual({ status: 200, body: { channel: "news", seq: 1, duplicate: true } });
    await reader.waitForCount("news", 1);
    expect(reader.messages("news")[0]).toMatchObject({ seq: 1, from: "system", body: "breaking" });
    // On behalf of a user, that user's rights apply.
    const outsider = await server("POST", "/server/publish", "publish", { channel: "news", clientId: "n2", body: "x", as: "stranger" });
    expect(outsider.body.error.code).toBe("channel_not_found");
    expect((await server("POST", "/server/publish", "publish", { channel: "news", clientId: "n3", body: "hi", as: "reader" })).body.seq).toBe(2);
  });

  test("server api - keys are checked: none is 401, a missing scope 403, a revoked key 401", async () => {
    expect((await httpJson(`${node.url}/server/publish`, "POST", { body: { channel: "news", clientId: "z", body: "z" } })).status).toBe(401);
    expect((await server("POST", "/server/broadcast", "publish", { channels: ["news"], clientId: "b", body: "b" })).body.error.code).toBe("forbidden");
    const extra = (await node.http("POST", "/admin/keys", { token: adminJwt, body: { scopes: ["publish"] } })).body;
    keys["extra"] = { id: extra.id, key: extra.key };
    expect((await server("POST", "/server/publish", "extra", { channel: "news", clientId: "e1", body: "e" })).status).toBe(201);
    expect((await node.http("DELETE", `/admin/keys/${extra.id}`, { token: adminJwt })).status).toBe(200);
    expect((await server("POST", "/server/publish", "extra", { channel: "news", clientId: "e2", body: "e" })).status).toBe(401);
    const listed = (await node.http("GET", "/admin/keys", { token: adminJwt })).body.keys;
    expect(listed.find((k: { id: string }) => k.id === extra.id).revokedAt).toBeGreaterThan(0);
    expect(JSON.stringify(listed)).not.toContain(extra.key);
  });

  test("server api - a broadcast publishes to every channel and reports each one's outcome", async () => {
    for (const ch of ["b1", "b2"]) expect((await server("POST", "/server/channels", "admin", { name: ch })).status).toBe(201);
    const r = await server("POST", "/server/broadcast", "broadcast", { channels: ["b1", "b2", "nowhere"], clientId: "all-1", body: "to all" });
    expect(r.body.results).toEqual([
      { channel: "b1", seq: 1, duplicate: false },
      { channel: "b2", seq: 1, duplicate: false },
      { channel: "nowhere", error: expect.objectContaining({ code: "channel_not_found" }) },
    ]);
    const again = await server("POST", "/server/broadcast", "broadcast", { channels: ["b1", "b2"], clientId: "all-1", body: "to all" });
    expect(again.body.results.map((x: { duplicate: boolean }) => x.duplicate)).toEqual([true, true]);
  });

  test("server api - presence, then disconnect closes the user's sockets with 4003", async () => {
    const ann = await connect("ann");
    expect((await server("POST", "/server/channels/b1/members", "admin", { user: "ann" })).status).toBe(200);
    await ann.ask({ t: "sub", ch: "b1", after: 0 });
    const presence = await server("GET", "/server/channels/b1/presence", "publish");
    expect(presence.body).toMatchObject({ channel: "b1", online: ["ann"] });
    const d = await server("POST", "/server/users/ann/disconnect", "admin");
    expect(d.body).toEqual({ user: "ann", connections: 1 });
    expect(await ann.closed()).toEqual({ code: 4003, reason: "disconnected" });
  });

  test("server api - revoking a user's tokens closes their sockets with 4004 and refuses tokens issued before", async () => {
    const old = await node.token("bea");
    const bea = await WsClient.connect(node.wsUrl, old);
    clients.push(bea);
    const r = await server("POST", "/server/users/bea/revoke", "admin", {});
    expect(r.status).toBe(200);
    expect(await bea.closed()).toEqual({ code: 4004, reason: "token_revoked" });
    const refused = await node.http("GET", "/users/me", { token: old });
    expect(refused.status).toBe(401);
    expect(refused.body.error.message).toContain("revoked");
    await expect(WsClient.connect(node.wsUrl, old)).rejects.toThrow(/401/);
    // Tokens carry their issue time in seconds: one minted in a later second is accepted.
    await new Promise((res) => setTimeout(res, Math.max(0, r.body.before + 1_000 - Date.now())));
    expect((await node.http("GET", "/users/me", { token: await node.token("bea") })).status).toBe(200);
  });

  test("server api - storm keys refuses a data dir a node serves, and manages keys once it is stopped", async () => {
    // Each run opens the embedded store in its own process: seconds on a busy machine.
    const run = (...args: string[]) => spawnSync(process.execPath, [ENTRY, "keys", ...args, "--data-dir", dataDir], { encoding: "utf8", timeout: 120_000 });
    const busy = run("create", "--scope", "publish");
    expect(busy.status).toBe(2);
    expect(busy.stderr).toContain("/admin/keys");
    await node.kill("SIGTERM");
    const made = run("create", "--scope", "publish,broadcast", "--name", "cli", "--json");
    expect(made.status, made.stderr).toBe(0);
    const created = JSON.parse(made.stdout) as { id: string; key: string; scopes: string[] };
    expect(created.scopes).toEqual(["publish", "broadcast"]);
    await node.restart();
    keys["cli"] = { id: created.id, key: created.key };
    expect((await server("POST", "/server/publish", "cli", { channel: "b1", clientId: "cli-1", body: "from cli key" })).status).toBe(201);
    await node.kill("SIGTERM");
    const revoked = run("revoke", created.id);
    expect(revoked.status, revoked.stderr).toBe(0);
    await node.restart();
    expect((await server("POST", "/server/publish", "cli", { channel: "b1", clientId: "cli-2", body: "x" })).status).toBe(401);
  }, 300_000);
});
