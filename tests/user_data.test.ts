import { PGlite } from "@electric-sql/pglite";
import { join } from "node:path";
import pg from "pg";
import { beforeAll, describe, expect, test } from "vitest";
import { storeMatrix } from "./harness/store_matrix.ts";
import { type StormProcess, startStorm } from "./harness/storm_process.ts";
import { type Msg, WsClient } from "./harness/ws_client.ts";

/**
 * Export and erasure end to end, on each store. The erasure test is the right-to-erasure proof:
 * after `DELETE /users/me`, no table (journal, snapshots, epochs, audit, anything) holds the user's
 * name or one of their message bodies, and every other user's history is byte-for-byte what it was.
 */
const { stores, nodes, clients, postgres } = storeMatrix();

/** Every row of every table of the public schema, as text. */
async function everyRow(query: (sql: string) => Promise<Array<Record<string, unknown>>>): Promise<string[]> {
  const tables = await query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1");
  const out: string[] = [];
  for (const { table_name } of tables) {
    for (const row of await query(`SELECT t::text AS row FROM "${String(table_name)}" t`)) out.push(`${String(table_name)}: ${String(row.row)}`);
  }
  return out;
}

describe.each(stores)("user data on %s", (store, storeArgs) => {
  let node: StormProcess;
  let dataDir: string;
  beforeAll(async () => {
    const { mkdtemp } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    dataDir = await mkdtemp(join(tmpdir(), "storm-erase-"));
    node = await startStorm({ workers: 2, dataDir, args: ["--dev-admin", ...storeArgs()] });
    nodes.push(node);
  }, 60_000);

  const token = (u: string) => node.token(u);
  const admin = async () => (await node.http("POST", "/auth/dev-token", { body: { user: "ops", role: "admin" } })).body.token as string;

  async function call(method: string, path: string, user: string, body?: unknown) {
    const r = await node.http(method, path, { token: await token(user), body });
    expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBeLessThan(300);
    return r.body;
  }

  async function readAll(ch: string, user: string): Promise<Msg[]> {
    const out: Msg[] = [];
    for (let after = 0; ;) {
      const page = await call("GET", `/channels/${ch}/messages?after=${after}&limit=500`, user);
      out.push(...(page.messages as Msg[]));
      if (!page.more || page.messages.length === 0) return out;
      after = out[out.length - 1]!.seq;
    }
  }

  /**
   * Three channels and two direct conversations, with zelda's messages between everyone else's;
   * then the chat's entries and state that name her: her edit, her reaction (beside bob's) to bob's
   * message, her reply in bob's thread, her delete of carol's message as a moderator, a mute in
   * vault and a ban from hall.
   */
  async function seed(): Promise<{ dmZ: string; dmC: string; reacted: number }> {
    await call("POST", "/channels", "zelda", { name: "plaza" });
    await call("POST", "/channels/plaza/members", "bob", { user: "bob" });
    await call("POST", "/channels", "bob", { name: "garden", members: ["zelda", "carol"] });
    await call("POST", "/channels", "carol", { name: "vault", visibility: "private", members: ["zelda"] });
    const dmZ = (await call("POST", "/users/zelda/dm", "bob")).channel as string;
    const dmC = (await call("POST", "/users/carol/dm", "bob")).channel as string;
    const writers: Array<[string, string[]]> = [["plaza", ["zelda", "bob"]], ["garden", ["bob", "zelda", "carol"]], ["vault", ["carol", "zelda"]], [dmZ, ["bob", "zelda"]], [dmC, ["carol", "bob"]]];
    const seq: Record<string, number> = {};
    for (let i = 0; i < 12; i++) {
      for (const [ch, who] of writers) {
        const u = who[i % who.length]!;
        const body = u === "zelda" ? `zelda-secret-${ch}-${i}` : `${u} says ${i} in ${ch}`;
        seq[`${ch}/${u}-${i}`] = (await call("POST", `/channels/${ch}/messages`, u, { clientId: `${u}-${i}`, body })).seq as number;
      }
    }
    await call("POST", "/channels/plaza/members", "yuri", { user: "yuri" });
    await call("POST", "/channels/plaza/messages", "yuri", { clientId: "y1", body: "yuri-private-words" });
    await call("PATCH", `/channels/plaza/messages/${seq["plaza/zelda-0"]}`, "zelda", { clientId: "z-edit", body: "zelda-secret-edited" });
    await call("POST", `/channels/plaza/messages/${seq["plaza/zelda-0"]}/reactions`, "bob", { clientId: "b-react-z", emoji: "🎉" });
    await call("POST", `/channels/plaza/messages/${seq["plaza/bob-1"]}/reactions`, "bob", { clientId: "b-react", emoji: "👍" });
    await call("POST", `/channels/plaza/messages/${seq["plaza/bob-1"]}/reactions`, "zelda", { clientId: "z-react", emoji: "👍" });
    await call("POST", "/channels/garden/messages", "zelda", { clientId: "z-reply", body: "zelda-secret-reply", parent: seq["garden/bob-0"] });
    await call("PUT", "/channels/garden/members/zelda/role", "bob", { role: "moderator" });
    await call("DELETE", `/channels/garden/messages/${seq["garden/carol-2"]}?clientId=z-delete`, "zelda");
    await call("PUT", "/channels/vault/mutes/zelda", "carol", { ms: 600_000 });
    await call("POST", "/channels", "bob", { name: "hall", members: ["zelda"] });
    await call("PUT", "/channels/hall/bans/zelda", "bob");
    return { dmZ, dmC, reacted: seq["plaza/bob-1"]! };
  }

  test("export - a user gets their session, memberships and every message with channel and seq; an admin gets anyone's", async () => {
    await call("POST", "/channels", "exp", { name: "exp-room" });
    for (let i = 1; i <= 5; i++) await call("POST", "/channels/exp-room/messages", "exp", { clientId: `e${i}`, body: `export ${i}` });
    const ws = await WsClient.connect(node.wsUrl, await token("exp"));
    clients.push(ws);
    await ws.ask({ t: "read", ch: "exp-room", seq: 3 });
    const mine = await node.http("GET", "/users/me/export", { token: await token("exp") });
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({
      user: "exp",
      session: { channels: ["exp-room"], reads: { "exp-room": 3 }, connections: 1 },
      memberships: [{ channel: "exp-room", role: "owner", owner: true, visibility: "public" }],
      counts: { memberships: 1, messages: 5 },
    });
    expect(mine.body.messages.map((m: { channel: string; seq: number; body: string }) => [m.channel, m.seq, m.body])).toEqual(
      [1, 2, 3, 4, 5].map((i) => ["exp-room", i, `export ${i}`]));
    const byAdmin = await node.http("GET", "/admin/users/exp/export", { token: await admin() });
    expect(byAdmin.body.messages).toEqual(mine.body.messages);
    expect((await node.http("GET", "/admin/users/exp/export", { token: await token("exp") })).status).toBe(403);
  });

  test("erasure - nothing identifying the user is left in any table, and everyone else's history is byte-for-byte unchanged", async () => {
    const { dmZ, dmC, reacted } = await seed();
    const kept = ["plaza", "garden", "vault", dmC];
    const reader: Record<string, string> = { plaza: "bob", garden: "bob", vault: "carol", [dmC]: "bob" };
    const before = new Map<string, Msg[]>();
    for (const ch of kept) before.set(ch, await readAll(ch, reader[ch]!));
    const zeldaSeqs = new Map(kept.map((ch) => [ch, before.get(ch)!.filter((m) => m.from === "zelda").map((m) => m.seq)]));
    // Her reaction was the only change to others' messages: bob's own 👍 stays.
    const othersAfter = new Map([...before].map(([ch, msgs]) => [ch, msgs.map((m) => (ch === "plaza" && m.seq === reacted ? { ...m, reactions: { "👍": 1 } } : m))]));
    expect(before.get("plaza")!.find((m) => m.seq === reacted)!.reactions).toEqual({ "👍": 2 });
    // A webhook wants garden's presence and membership: her presence is then saved as an event too.
    const key = (await node.http("POST", "/admin/keys", { token: await admin(), body: { scopes: ["webhooks"] } })).body.key as string;
    const hook = await node.http("POST", "/server/webhooks", { token: key, body: { url: "http://127.0.0.1:9/nowhere", events: ["presence", "membership"], channels: ["garden"] } });
    expect(hook.status).toBe(201);
    const zelda = await WsClient.connect(node.wsUrl, await token("zelda"));
    clients.push(zelda);
    await zelda.ask({ t: "read", ch: "plaza", seq: 4 });
    await zelda.ask({ t: "sub", ch: "garden", after: 0 });

    const report = await call("DELETE", "/users/me", "zelda");
    // Entries: her messages (6 + 4 + 6 + 6), her edit, reaction, reply and delete; channels: hall too (banned there).
    expect(report).toMatchObject({ messages: 6 + 4 + 6 + 6 + 4, channels: 5, memberships: 4, directChannels: 1 });
    expect(await zelda.closed()).toEqual({ code: 4005, reason: "account_erased" });

    for (const ch of kept) {
      const after = await readAll(ch, reader[ch]!);
      const was = othersAfter.get(ch)!;
      expect(after.map((m) => m.seq)).toEqual(was.map((m) => m.seq));
      for (let i = 0; i < was.length; i++) {
        const w = was[i]!;
        // A tombstone keeps seq, ts and what kind of entry it was (and which seq it was about).
        const place = { ...(w.kind ? { kind: w.kind } : {}), ...(w.ref ? { ref: w.ref } : {}), ...(w.replies ? { replies: w.replies } : {}) };
        if (zeldaSeqs.get(ch)!.includes(w.seq)) expect(after[i]).toEqual({ seq: w.seq, ts: w.ts, from: "", cid: "", body: "", erased: true, ...place });
        else expect(JSON.stringify(after[i])).toBe(JSON.stringify(w));
      }
    }
    // The direct conversation was named after her: it is gone, for bob too.
    expect((await node.http("GET", `/channels/${dmZ}`, { token: await token("bob") })).status).toBe(404);
    expect((await call("GET", "/users/me", "bob")).channels).toEqual(["garden", "hall", "plaza", dmC].sort());
    const audit = await node.http("GET", "/admin/audit", { token: await admin() });
    expect(audit.body.records.at(-1)).toMatchObject({ action: "erase_user", actor: "self", details: { messages: 26, directChannels: 1 } });
    // The ban and the mute named her: both are gone with her (hall, vault).
    expect((await call("GET", "/channels/hall/members", "bob")).members).toEqual({ bob: "owner" });
    // An admin erases another user the same way, and is named in the audit.
    expect((await node.http("DELETE", "/admin/users/yuri", { token: await admin() })).body).toMatchObject({ messages: 1, memberships: 1 });
    expect((await node.http("GET", "/admin/audit", { token: await admin() })).body.records.at(-1)).toMatchObject({ actor: "ops", details: { messages: 1 } });

    let rows: string[];
    if (store === "postgres") {
      const db = new pg.Client(postgres().url);
      await db.connect();
      rows = await everyRow(async (sql) => (await db.query(sql)).rows);
      await db.end();
    } else {
      await node.kill("SIGTERM");
      const db = await PGlite.create(join(dataDir, "pglite"));
      rows = await everyRow(async (sql) => (await db.query<Record<string, unknown>>(sql)).rows);
      await db.close();
      await node.restart();
    }
    expect(rows.length).toBeGreaterThan(50);
    expect(rows.filter((r) => /zelda|yuri/i.test(r))).toEqual([]);
    // Still served the same after the scan (and, embedded, a restart).
    for (const ch of kept) expect((await readAll(ch, reader[ch]!)).filter((m) => !m.erased)).toEqual(othersAfter.get(ch)!.filter((m) => m.from !== "zelda" && m.from !== "yuri"));
  }, 120_000);
});
