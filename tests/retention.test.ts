import { beforeAll, describe, expect, test } from "vitest";
import { storeMatrix } from "./harness/store_matrix.ts";
import { type StormProcess, startStorm } from "./harness/storm_process.ts";
import { type Msg, pipelined, WsClient } from "./harness/ws_client.ts";

/**
 * Retention end to end, on each store: a channel's policy trims the journal's prefix (never its
 * end), and a resume or history read from before the trim says `truncated` with `first` (G4),
 * while publishes race the trims and across a restart of the node (a new activation).
 * `--dedupe-horizon 0` lets the tests trim messages just published; the last test keeps the
 * default horizon and shows that it protects young messages.
 */
const { stores, nodes, clients } = storeMatrix();

describe.each(stores)("retention on %s", (_store, storeArgs) => {
  let node: StormProcess;
  beforeAll(async () => {
    node = await startStorm({ workers: 1, args: [...storeArgs(), "--dedupe-horizon", "0", "--dev-tokens", "--dev-admin"] });
    nodes.push(node);
  }, 60_000);

  async function connect(user: string): Promise<WsClient> {
    const c = await WsClient.connect(node.wsUrl, await node.token(user));
    clients.push(c);
    return c;
  }

  async function channelWith(owner: string, name: string, n: number): Promise<void> {
    const token = await node.token(owner);
    expect((await node.http("POST", "/channels", { token, body: { name } })).status).toBe(201);
    for (let i = 1; i <= n; i++) {
      const r = await node.http("POST", `/channels/${name}/messages`, { token, body: { clientId: `m${i}`, body: `body ${i}` } });
      expect(r.body.seq).toBe(i);
    }
  }

  /** Every message from `after` on, paging `GET .../messages?after=`; the first page's answer too. */
  async function readAll(ch: string, user: string, after = 0): Promise<{ first: number; truncated: boolean; msgs: Msg[] }> {
    const token = await node.token(user);
    const msgs: Msg[] = [];
    let head: { first: number; truncated: boolean } | undefined;
    for (let pages = 0; pages < 100; pages++) {
      const r = await node.http("GET", `/channels/${ch}/messages?after=${after}&limit=500`, { token });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      head ??= { first: r.body.first, truncated: r.body.truncated };
      msgs.push(...(r.body.messages as Msg[]));
      if (!r.body.more || r.body.messages.length === 0) break;
      after = msgs[msgs.length - 1]!.seq;
    }
    return { ...head!, msgs };
  }

  test("retention - a count policy trims the prefix, and a read from before it is truncated at first", async () => {
    await channelWith("ret-own", "ret-count", 40);
    const token = await node.token("ret-own");
    const set = await node.http("PUT", "/channels/ret-count/retention", { token, body: { maxCount: 10 } });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body).toEqual({ channel: "ret-count", policy: { maxCount: 10 }, own: true, first: 31, last: 40 });
    const all = await readAll("ret-count", "ret-own");
    expect(all).toMatchObject({ first: 31, truncated: true });
    expect(all.msgs.map((m) => m.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 31 + i));
    // A resume after the trim point is whole, not truncated.
    expect(await readAll("ret-count", "ret-own", 35)).toMatchObject({ truncated: false });
    // The latest page (no position) reaches the retained start and says so.
    const latest = await node.http("GET", "/channels/ret-count/messages?limit=50", { token });
    expect(latest.body).toMatchObject({ first: 31, more: false, truncated: true });
    const ws = await connect("ret-own");
    const subbed = await ws.ask({ t: "sub", ch: "ret-count", after: 3 });
    expect(subbed).toMatchObject({ t: "subbed", first: 31, last: 40, truncated: true });
    await ws.waitForCount("ret-count", 10);
    expect(ws.seqs("ret-count")).toEqual(Array.from({ length: 10 }, (_, i) => 31 + i));
  });

  test("retention - only the owner or an admin sets a channel's policy", async () => {
    await channelWith("ret-boss", "ret-perm", 3);
    const other = await node.token("ret-other");
    expect((await node.http("POST", "/channels/ret-perm/members", { token: other, body: { user: "ret-other" } })).status).toBe(200);
    const denied = await node.http("PUT", "/channels/ret-perm/retention", { token: other, body: { maxCount: 1 } });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe("forbidden");
    const adminToken = (await node.http("POST", "/auth/dev-token", { body: { user: "ret-admin", role: "admin" } })).body.token;
    const ok = await node.http("PUT", "/channels/ret-perm/retention", { token: adminToken, body: { maxCount: 1 } });
    expect(ok.body).toMatchObject({ first: 3, last: 3, own: true });
    const bad = await node.http("PUT", "/channels/ret-perm/retention", { token: adminToken, body: { maxCount: 0 } });
    expect(bad.status).toBe(400);
  });

  test("retention - an age policy trims what is older, and keeps the last message", async () => {
    await channelWith("ret-age", "ret-age", 5);
    await new Promise((r) => setTimeout(r, 30));
    const token = await node.token("ret-age");
    const set = await node.http("PUT", "/channels/ret-age/retention", { token, body: { maxAgeMs: 10 } });
    expect(set.body).toMatchObject({ first: 5, last: 5 });
    const r = await node.http("POST", "/channels/ret-age/messages", { token, body: { clientId: "m6", body: "after" } });
    expect(r.body.seq).toBe(6);
  });

  test("retention - trims racing publishes keep every ack's seq and leave a gapless suffix", async () => {
    await channelWith("ret-race", "ret-race", 1);
    const pubs = await Promise.all(["ret-race", "ret-race", "ret-race"].map((u) => connect(u)));
    const token = await node.token("ret-race");
    let trims = 0;
    let publishing = true;
    const trimmer = (async () => {
      while (publishing) {
        const r = await node.http("PUT", "/channels/ret-race/retention", { token, body: { maxCount: 15 + (trims % 2) * 10 } });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        trims++;
      }
    })();
    const acks = await pipelined(300, 12, (k) => pubs[k % 3]!.ask({ t: "pub", ch: "ret-race", cid: `r${k}`, body: `race ${k}` }));
    publishing = false;
    await trimmer;
    expect(trims).toBeGreaterThan(1);
    const seqs = acks.map((a) => a["seq"] as number).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 300 }, (_, i) => i + 2));
    const all = await readAll("ret-race", "ret-race");
    expect(all.truncated).toBe(true);
    expect(all.msgs.map((m) => m.seq)).toEqual(Array.from({ length: 302 - all.first }, (_, i) => all.first + i));
    const bySeq = new Map(acks.map((a, k) => [a["seq"] as number, `race ${k}`]));
    for (const m of all.msgs) expect(m.body).toBe(bySeq.get(m.seq));
  });

  test("retention - after a trim and a restart, the new activation resumes truncated at the same first and continues the seqs", async () => {
    await channelWith("ret-fo", "ret-fo", 30);
    const token = await node.token("ret-fo");
    expect((await node.http("PUT", "/channels/ret-fo/retention", { token, body: { maxCount: 5 } })).body.first).toBe(26);
    await node.kill("SIGKILL");
    await node.restart();
    const fresh = await node.token("ret-fo");
    expect((await node.http("GET", "/channels/ret-fo/retention", { token: fresh })).body).toMatchObject({ first: 26, last: 30, policy: { maxCount: 5 } });
    const ws = await connect("ret-fo");
    expect(await ws.ask({ t: "sub", ch: "ret-fo", after: 0 })).toMatchObject({ first: 26, last: 30, truncated: true });
    const ack = await ws.ask({ t: "pub", ch: "ret-fo", cid: "after-restart", body: "31" });
    expect(ack["seq"]).toBe(31);
    await ws.waitForCount("ret-fo", 6);
    expect(ws.seqs("ret-fo")).toEqual([26, 27, 28, 29, 30, 31]);
  }, 60_000);
});

describe("retention defaults", () => {
  test("retention - the server default applies to every channel, and the exactly-once horizon keeps young messages", async () => {
    const node = await startStorm({ workers: 1, args: ["--retention-max-count", "3"] });
    nodes.push(node);
    const token = await node.token("def");
    expect((await node.http("POST", "/channels", { token, body: { name: "def" } })).status).toBe(201);
    for (let i = 1; i <= 10; i++) await node.http("POST", "/channels/def/messages", { token, body: { clientId: `d${i}`, body: `d${i}` } });
    const view = await node.http("GET", "/channels/def/retention", { token });
    // Within the default 60 s horizon nothing is trimmed: a retry after a failover still finds its id.
    expect(view.body).toMatchObject({ policy: { maxCount: 3 }, own: false, first: 1, last: 10 });
    const retry = await node.http("POST", "/channels/def/messages", { token, body: { clientId: "d2", body: "d2" } });
    expect(retry.body).toEqual({ seq: 2, duplicate: true });
  }, 60_000);
});
