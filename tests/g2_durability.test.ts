import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type StormProcess, startStorm } from "./harness/storm_process.ts";
import { type Msg, pipelined, WsClient } from "./harness/ws_client.ts";

/**
 * G2 (no acknowledged loss) against a real node process killed with SIGKILL: no graceful stop, no
 * flush, in-flight publishes cut off. `--history 100` keeps only the newest 100 messages in the
 * channel actor's memory, so after the restart older history and older client ids come from the
 * store, not from a cache.
 */
let node: StormProcess;
const clients: WsClient[] = [];
const ch = "g2";
/** cid -> seq of every ack received before the kill. */
const acked = new Map<string, number>();

beforeAll(async () => {
  node = await startStorm({ workers: 2, args: ["--history", "100"] });
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await node?.stop();
});

async function connect(user: string): Promise<WsClient> {
  const c = await WsClient.connect(node.wsUrl, await node.token(user));
  clients.push(c);
  return c;
}

async function history(user: string): Promise<Msg[]> {
  const token = await node.token(user);
  const out: Msg[] = [];
  for (let after = 0, pages = 0; pages < 100; pages++) {
    const r = await node.http("GET", `/channels/${ch}/messages?after=${after}&limit=500`, { token });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    out.push(...(r.body.messages as Msg[]));
    if (!r.body.more || r.body.messages.length === 0) break;
    after = out[out.length - 1]!.seq;
  }
  return out;
}

describe("G2 durability", () => {
  test("node - every acknowledged message survives SIGKILL with its seq", async () => {
    const token = await node.token("g2a");
    expect((await node.http("POST", "/channels", { token, body: { name: ch, members: ["g2b"] } })).status).toBe(201);
    const pubs = [await connect("g2a"), await connect("g2b")];

    // Two publishers keep 24 publishes in flight each; the node dies on the 600th ack, with more
    // publishes in flight that may or may not have committed.
    const KILL_AT = 600;
    let killed = false;
    const runs = pubs.map((p, j) =>
      pipelined(1_000, 24, async (i) => {
        if (killed) return;
        const cid = `${j}-${i}`;
        const ack = await p.publish(ch, cid, `body ${cid}`).catch(() => undefined);
        if (!ack || killed) return;
        expect(ack.t, JSON.stringify(ack)).toBe("ack");
        acked.set(cid, ack["seq"] as number);
        if (acked.size >= KILL_AT) {
          killed = true;
          node.proc.kill("SIGKILL");
        }
      }),
    );
    await Promise.all(runs);
    expect(killed).toBe(true);
    await node.kill("SIGKILL");
    expect(node.proc.signalCode).toBe("SIGKILL");

    await node.restart();
    const h = await history("g2a");
    const bySeq = h.map((m) => m.seq);
    expect(bySeq).toEqual(Array.from({ length: h.length }, (_, i) => i + 1));
    expect(new Set(h.map((m) => m.cid)).size).toBe(h.length);
    const seqOf = new Map(h.map((m) => [m.cid, m.seq]));
    const lost = [...acked].filter(([cid, seq]) => seqOf.get(cid) !== seq);
    expect(lost, `acked but lost or moved (cid, acked seq, stored seq)`).toEqual([]);
    expect(h.length).toBeGreaterThanOrEqual(acked.size);
    for (const m of h) expect(m.body).toBe(`body ${m.cid}`);

    // The journal continues after the last stored seq: no seq is reused.
    const c = await connect("g2a");
    expect(await c.ask({ t: "pub", ch, cid: "after-restart", body: "x" })).toMatchObject({ seq: h.length + 1 });
  }, 90_000);

  test("node - a retry after SIGKILL and restart keeps its first seq", async () => {
    expect(acked.size).toBeGreaterThan(0);
    const c = await connect("g2b");
    // The oldest acks are beyond the 100 messages held in memory: their ids are found in the store.
    const sample = [...acked].sort((a, b) => a[1] - b[1]).filter((_, i, all) => i < 5 || i >= all.length - 5);
    for (const [cid, seq] of sample) {
      expect(await c.ask({ t: "pub", ch, cid, body: `body ${cid}` }), cid).toMatchObject({ t: "ack", seq, dup: true });
    }
    const before = (await history("g2b")).length;
    const token = await node.token("g2b");
    const [cid, seq] = sample[0]!;
    const r = await node.http("POST", `/channels/${ch}/messages`, { token, body: { clientId: cid, body: `body ${cid}` } });
    expect(r).toMatchObject({ status: 200, body: { seq, duplicate: true } });
    expect((await history("g2b")).length).toBe(before);
  }, 30_000);

  test("subscriber - resume from before the in-memory history, while others publish, has no gap and no duplicate", async () => {
    const last = (await history("g2a")).length;
    expect(last).toBeGreaterThan(200);
    const pub = await connect("g2a");
    const sub = await connect("g2b");
    // Seq 3 is far below the newest 100 held in memory: catch-up pages come from the store.
    const live = pipelined(150, 4, (i) => pub.ask({ t: "pub", ch, cid: `live-${i}`, body: `body live-${i}` }));
    const subbed = await sub.ask({ t: "sub", ch, after: 3 });
    expect(subbed["truncated"]).toBeUndefined();
    await live;
    await sub.waitForCount(ch, last + 150 - 3, 30_000);
    await sub.ask({ t: "ping" });
    expect(sub.seqs(ch)).toEqual(Array.from({ length: last + 150 - 3 }, (_, i) => i + 4));
  }, 60_000);
});
