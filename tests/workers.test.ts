import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type StormProcess, startStorm } from "./harness/storm_process.ts";
import { pipelined, WsClient } from "./harness/ws_client.ts";

/**
 * Placement: with several actor worker threads, channel actors spread over them, each channel has
 * one activation, and per-channel order (G1) holds whatever thread hosts the channel.
 * Reads `GET /status`: `{ workers: [{ index, actors }], actors: [{ id, worker, epoch, state }] }`.
 */
let node: StormProcess;
const clients: WsClient[] = [];

beforeAll(async () => {
  node = await startStorm({ workers: 3, args: ["--dev-admin"] });
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await node?.stop();
});

describe("placement", () => {
  test("node - actors spread over several worker threads and order holds", async () => {
    const CHANNELS = 30;
    const PER = 40;
    const names = Array.from({ length: CHANNELS }, (_, i) => `w-${i}`);
    const token = await node.token("wpub1");
    for (const name of names) {
      const r = await node.http("POST", "/channels", { token, body: { name, members: ["wpub2", "wsub"] } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    const sub = await WsClient.connect(node.wsUrl, await node.token("wsub"));
    const pubs = [await WsClient.connect(node.wsUrl, token), await WsClient.connect(node.wsUrl, await node.token("wpub2"))];
    clients.push(sub, ...pubs);
    await Promise.all(names.map((ch) => sub.ask({ t: "sub", ch, after: 0 })));

    // Both publishers write to every channel at once, interleaved across channels.
    const jobs = names.flatMap((ch) => Array.from({ length: PER }, (_, i) => ({ ch, i })));
    const acks = await Promise.all(
      pubs.map((p, j) => pipelined(jobs.length, 32, async (k) => {
        const { ch, i } = jobs[(k * 7 + j * 13) % jobs.length]!;
        const cid = `${j}-${i}`;
        return { ch, cid, ack: await p.ask({ t: "pub", ch, cid, body: cid }) };
      })),
    );
    await sub.waitFor(() => names.every((ch) => sub.messages(ch).length >= 2 * PER), 30_000, "every channel delivered");
    await sub.ask({ t: "ping" });

    const expected = Array.from({ length: 2 * PER }, (_, i) => i + 1);
    for (const ch of names) expect(sub.seqs(ch), ch).toEqual(expected);
    for (const { ch, cid, ack } of acks.flat()) {
      expect(sub.messages(ch).find((m) => m.seq === ack["seq"])?.cid, `${ch} seq ${ack["seq"]}`).toBe(cid);
    }

    const admin = await node.http("POST", "/auth/dev-token", { body: { user: "wadmin", role: "admin" } });
    const status = await node.http("GET", "/status", { token: admin.body.token });
    expect(status.status).toBe(200);
    const actors = status.body.actors as Array<{ id: string; worker: number }>;
    expect(Array.isArray(actors), JSON.stringify(status.body).slice(0, 300)).toBe(true);
    const hosts = new Map<string, number[]>();
    for (const a of actors) if (a.id.startsWith("channel:w-")) hosts.set(a.id, [...(hosts.get(a.id) ?? []), a.worker]);
    expect([...hosts.keys()].sort()).toEqual(names.map((n) => `channel:${n}`).sort());
    for (const [id, workers] of hosts) expect(workers, `${id} has one activation`).toHaveLength(1);
    const used = new Set([...hosts.values()].map((w) => w[0]));
    expect(used.size, `channels by worker: ${JSON.stringify([...hosts])}`).toBeGreaterThan(1);
    expect((status.body.workers as unknown[]).length).toBe(3);
  }, 90_000);
});
