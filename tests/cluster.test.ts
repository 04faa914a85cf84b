import { describe, expect, test } from "vitest";
import WebSocket from "ws";
import { rendezvous } from "../runtime/cluster/rendezvous.ts";
import type { Placement } from "../runtime/core/registry.ts";
import { range, until } from "./harness/cluster.ts";
import { RecordingSubscriber } from "./harness/recording_clients.ts";
import { RecordingPublisher } from "./harness/recording_publisher.ts";
import { useTestCluster } from "./harness/cluster_suite.ts";

/**
 * A real cluster (PostgreSQL, a Hazelcast member, 3 `storm serve` processes with one worker each)
 * and real WebSocket clients: cross-node delivery, planned migration and draining under traffic.
 * Every client records a history (checker/history.ts); the history checker compares it with the
 * journal committed in PostgreSQL. Failures of nodes (SIGKILL, SIGSTOP) are in
 * `cluster_failover.test.ts`.
 */
const LEASE_MS = 2_000;
const cluster = useTestCluster({ nodes: 3, leaseMs: LEASE_MS, heal: false });
const { subscribers, publishers } = cluster;

async function subscriber(client: string, ch: string, node: number): Promise<RecordingSubscriber> {
  const s = new RecordingSubscriber({ client, user: client, ch, token: await cluster.tc.token(client), history: cluster.tc.history, url: () => cluster.tc.wsUrl(node) });
  subscribers.push(s);
  return s.start();
}

async function publisher(client: string, ch: string, node: number, width: number): Promise<RecordingPublisher> {
  const p = new RecordingPublisher({ client, user: client, ch, token: await cluster.tc.token(client), history: cluster.tc.history, url: () => cluster.tc.wsUrl(node), width });
  publishers.push(p);
  return p;
}

/** Waits for `ch`'s placement to satisfy `pred`; the failure lists what was seen and the actor on every node. */
async function placementWhere(ch: string, pred: (p: Placement) => boolean, what: string): Promise<Placement> {
  const seen = new Set<string>();
  let last: Placement | undefined;
  try {
    await until(async () => {
      last = await cluster.tc.placement(ch);
      seen.add(JSON.stringify(last ?? null));
      return last !== undefined && pred(last);
    }, 10_000, what);
    return last!;
  } catch (err) {
    const actors = await Promise.all(cluster.tc.running().map(async (i) => {
      const st = await cluster.tc.http(i, "GET", "/status", await cluster.tc.adminToken());
      const a = (st.body.actors as Array<{ id: string; epoch: number; state: string; lastSeq?: number }>).find((x) => x.id === `channel:${ch}`);
      return `${cluster.tc.node(i).id}: ${a ? JSON.stringify({ epoch: a.epoch, state: a.state, lastSeq: a.lastSeq }) : "none"}`;
    }));
    throw new Error(`${(err as Error).message}; placements seen: ${[...seen].join(" ")}; activations: ${actors.join(", ")}`);
  }
}

/** A channel name that rendezvous hashing over `nodes` places on `owner`. */
function nameOwnedBy(prefix: string, owner: string, nodes: string[]): string {
  for (let i = 0; ; i++) if (rendezvous(`channel:${prefix}-${i}`, nodes) === owner) return `${prefix}-${i}`;
}

const ids = () => cluster.tc.c.nodes.map((n) => n.id);
const bySeq = (p: RecordingPublisher) => new Map(p.acks.map((a) => [a.seq, a.cid]));

describe("cluster", () => {
  test("cluster - every node is ready: started, its store answering, its lease held", async () => {
    const replies = await Promise.all(range(0, 2).map((i) => cluster.tc.http(i, "GET", "/readyz")));
    expect(replies).toHaveLength(3);
    for (const [i, r] of replies.entries()) {
      expect(r, `node ${i}`).toEqual({ status: 200, body: { ready: true, checks: { started: true, store: true, lease: true } } });
    }
  });

  test("cluster - a publish through node 1 to a channel owned by node 3 reaches subscribers on nodes 2 and 3 in one order", async () => {
    const ch = nameOwnedBy("order", ids()[2]!, ids());
    await cluster.tc.createChannel("ord-pub", ch, 0);
    expect((await cluster.tc.placement(ch))?.node).toBe(ids()[2]);
    const subs = [await subscriber("ord-sub2", ch, 1), await subscriber("ord-sub3", ch, 2)];
    const pub = await publisher("ord-pub", ch, 0, 16);

    const N = 300;
    await pub.run(N);
    expect(pub.errors).toEqual([]);
    expect(pub.acks.filter((a) => a.dup)).toEqual([]);
    expect(pub.acks.map((a) => a.seq).sort((a, b) => a - b)).toEqual(range(1, N));
    const acked = bySeq(pub);
    for (const s of subs) await s.waitForSeq(N, 20_000);
    for (const s of subs) {
      expect(s.seqs(), s.o.client).toEqual(range(1, N));
      expect(s.delivered.map((d) => d.cid), s.o.client).toEqual(range(1, N).map((q) => acked.get(q)));
    }
    // Still placed on node 3: the publishes went through node 1's router, not a migration.
    expect((await cluster.tc.placement(ch, 1))?.node).toBe(ids()[2]);
    const { stats } = await cluster.tc.check([ch]);
    expect(stats.lastSeq[ch]).toBe(N);
  }, 60_000);

  test("cluster - planned migration under traffic loses and reorders nothing", async () => {
    const ch = "migrate-1";
    await cluster.tc.createChannel("mig-pub", ch, 0);
    const before = await cluster.tc.activePlacement(ch);
    const from = cluster.tc.indexOf(before.node);
    expect(from).toBeGreaterThanOrEqual(0);
    const to = (from + 1) % 3;
    const other = (from + 2) % 3;
    const subs = [await subscriber("mig-sub-from", ch, from), await subscriber("mig-sub-to", ch, to)];
    const pub = await publisher("mig-pub", ch, other, 8);
    const running = pub.run();
    await pub.waitFor(() => pub.acks.length >= 100, 20_000, "100 acks before the migration");

    const r = await cluster.tc.http(other, "POST", "/admin/migrate", await cluster.tc.adminToken(), { actor: `channel:${ch}`, to: ids()[to] });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({ from: ids()[from], to: ids()[to] });
    const mark = pub.acks.length;
    await pub.waitFor(() => pub.acks.length >= mark + 150, 30_000, "150 acks after the migration");
    await pub.stop();
    await running;

    const after = (await cluster.tc.placement(ch))!;
    expect(after.node).toBe(ids()[to]);
    expect(after.epoch).toBeGreaterThan(before.epoch);
    const N = pub.maxSeq();
    expect(new Set(pub.acks.map((a) => a.cid)).size).toBe(N);
    for (const s of subs) await s.waitForSeq(N, 20_000);
    const acked = bySeq(pub);
    for (const s of subs) {
      expect(s.seqs(), `${s.o.client} (closes ${JSON.stringify(s.closes)})`).toEqual(range(1, N));
      expect(s.delivered.map((d) => d.cid), s.o.client).toEqual(range(1, N).map((q) => acked.get(q)));
    }
    const { stats } = await cluster.tc.check([ch]);
    expect(stats.lastSeq[ch]).toBe(N);
    console.log(JSON.stringify({ test: "migration", acks: pub.acks.length, retriedErrors: pub.errors.map((e) => e.code), subscriberCloses: subs.map((s) => s.closes) }));
  }, 90_000);

  test("cluster - a channel migrated back to a node it left is activated anew there, under traffic", async () => {
    const ch = "migrate-back";
    await cluster.tc.createChannel("back-pub", ch, 0);
    const first = await cluster.tc.activePlacement(ch);
    const home = cluster.tc.indexOf(first.node);
    const b = (home + 1) % 3;
    const c = (home + 2) % 3;
    const subs = [await subscriber("back-sub-b", ch, b), await subscriber("back-sub-c", ch, c)];
    const pub = await publisher("back-pub", ch, home, 4);
    await pub.run(50);
    const migrate = async (to: number) => {
      const r = await cluster.tc.http(home, "POST", "/admin/migrate", await cluster.tc.adminToken(), { actor: `channel:${ch}`, to: ids()[to] });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    };
    // Two idle hops, home -> b -> c: the activations left behind are superseded but never write again.
    await migrate(b);
    const onB = await placementWhere(ch, (p) => p.node === ids()[b] && p.epoch > first.epoch, "the placement on b with a new epoch");
    await migrate(c);
    const onC = await placementWhere(ch, (p) => p.node === ids()[c] && p.epoch > onB.epoch, "the placement on c with a new epoch");
    const running = pub.run();
    await pub.waitFor(() => pub.acks.length >= 100, 20_000, "50 acks on c");

    // Back to b under traffic: b must activate the channel with a new epoch, not reuse its superseded activation.
    await migrate(b);
    const settled = placementWhere(ch, (p) => p.node === ids()[b] && p.epoch > onC.epoch, "the placement back on b with a new epoch")
      .then(() => "placed on b", (err: Error) => err.message);
    const mark = pub.acks.length;
    await pub.waitFor(() => pub.acks.length >= mark + 100, 30_000, "100 acks after the migration back");
    await pub.stop();
    await running;

    const N = pub.maxSeq();
    const acked = bySeq(pub);
    for (const s of subs) {
      await s.waitForSeq(N, 20_000);
      expect(s.seqs(), `${s.o.client} (closes ${JSON.stringify(s.closes)})`).toEqual(range(1, N));
      expect(s.delivered.map((d) => d.cid), s.o.client).toEqual(range(1, N).map((q) => acked.get(q)));
    }
    const { stats } = await cluster.tc.check([ch]);
    expect(stats.lastSeq[ch]).toBe(N);
    // Checked last, so that a misplacement is reported together with whatever else held or broke.
    expect(await settled).toBe("placed on b");
  }, 90_000);

  test("cluster - draining a node moves all its actors away under traffic", async () => {
    const all = ids();
    const drained = 1;
    const D = all[drained]!;
    const channels = [
      nameOwnedBy("drain-a", D, all), nameOwnedBy("drain-b", D, all), nameOwnedBy("drain-c", D, all),
      nameOwnedBy("drain-d", all[0]!, all), nameOwnedBy("drain-e", all[2]!, all),
    ];
    for (const ch of channels) await cluster.tc.createChannel(`dr-pub-${ch}`, ch, 0);
    for (const ch of channels.slice(0, 3)) expect((await cluster.tc.placement(ch))?.node).toBe(D);
    const subs: RecordingSubscriber[] = [];
    for (const ch of channels) subs.push(await subscriber(`dr-subD-${ch}`, ch, drained), await subscriber(`dr-sub2-${ch}`, ch, 2));
    const pubs = await Promise.all(channels.map((ch) => publisher(`dr-pub-${ch}`, ch, 0, 4)));
    const runs = pubs.map((p) => p.run());
    await Promise.all(pubs.map((p) => p.waitFor(() => p.acks.length >= 40, 20_000, "40 acks before the drain")));

    const r = await cluster.tc.http(0, "POST", "/admin/drain", await cluster.tc.adminToken(), { node: D });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.failed).toEqual([]);
    expect(r.body.moved).toBeGreaterThanOrEqual(3);
    const onDrained = async () => {
      const list = await cluster.tc.http(0, "GET", "/admin/placements", await cluster.tc.adminToken());
      expect(list.status).toBe(200);
      return (list.body.placements as Array<{ id: string; placement: { node: string } }>).filter((p) => p.placement.node === D).map((p) => p.id);
    };
    expect(await onDrained()).toEqual([]);

    const marks = pubs.map((p) => p.acks.length);
    await Promise.all(pubs.map((p, i) => p.waitFor(() => p.acks.length >= marks[i]! + 60, 30_000, "60 acks after the drain")));
    await Promise.all(pubs.map((p) => p.stop()));
    await Promise.all(runs);
    expect(await onDrained()).toEqual([]);
    for (const ch of channels) expect((await cluster.tc.placement(ch))?.node).not.toBe(D);

    for (const [i, ch] of channels.entries()) {
      const p = pubs[i]!;
      const N = p.maxSeq();
      const acked = bySeq(p);
      for (const s of subs.filter((x) => x.o.ch === ch)) {
        await s.waitForSeq(N, 20_000);
        expect(s.seqs(), `${s.o.client} (closes ${JSON.stringify(s.closes)})`).toEqual(range(1, N));
        expect(s.delivered.map((d) => d.cid), s.o.client).toEqual(range(1, N).map((q) => acked.get(q)));
      }
    }
    const { stats } = await cluster.tc.check(channels);
    for (const [i, ch] of channels.entries()) expect(stats.lastSeq[ch]).toBe(pubs[i]!.maxSeq());
    console.log(JSON.stringify({ test: "drain", moved: r.body.moved, retriedErrors: pubs.flatMap((p) => p.errors.map((e) => e.code)), subscriberCloses: subs.flatMap((s) => s.closes) }));
  }, 90_000);

  test("cluster - a connect burst activates each user's session once, on the node the user connected to; a user on two nodes at once shares one", async () => {
    const users = range(0, 29).map((i) => `burst-${i}`);
    const sockets: Array<{ user: string; node: number }> = [
      ...users.map((user, i) => ({ user, node: i % 3 })),
      { user: "burst-both", node: 0 }, { user: "burst-both", node: 1 },
    ];
    const tokens = new Map(await Promise.all([...users, "burst-both"].map(async (u) => [u, await cluster.tc.token(u)] as const)));
    const open: WebSocket[] = [];
    try {
      // All at once: the sessions' claims and activations race each other and, for burst-both, two nodes.
      const welcomes = await Promise.all(sockets.map(({ user, node }) => new Promise<Record<string, unknown>>((resolve, reject) => {
        const ws = new WebSocket(`${cluster.tc.wsUrl(node)}?token=${tokens.get(user)}`);
        open.push(ws);
        ws.once("message", (data) => resolve(JSON.parse(String(data)) as Record<string, unknown>));
        ws.once("error", reject);
      })));
      for (const [i, w] of welcomes.entries()) expect(w, JSON.stringify(sockets[i])).toMatchObject({ t: "welcome", user: sockets[i]!.user, channels: [], unread: {} });

      const list = await cluster.tc.http(0, "GET", "/admin/placements?prefix=session%3Aburst-", await cluster.tc.adminToken());
      expect(list.status).toBe(200);
      const placed = new Map((list.body.placements as Array<{ id: string; placement: Placement }>).map((p) => [p.id, p.placement.node]));
      for (const [i, user] of users.entries()) expect(placed.get(`session:${user}`), user).toBe(ids()[i % 3]);
      expect([ids()[0], ids()[1]]).toContain(placed.get("session:burst-both"));

      const active = await Promise.all(range(0, 2).map(async (i) => {
        const st = await cluster.tc.http(i, "GET", "/status", await cluster.tc.adminToken());
        return (st.body.actors as Array<{ id: string }>).map((a) => a.id).filter((id) => id.startsWith("session:burst-"));
      }));
      const all = active.flat().sort();
      expect(all).toEqual([...users, "burst-both"].map((u) => `session:${u}`).sort());
      for (const [i, ids_] of active.entries()) for (const id of ids_) expect(placed.get(id), id).toBe(ids()[i]);
    } finally {
      for (const ws of open) ws.close();
    }
  }, 60_000);
});
