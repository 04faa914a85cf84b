import { describe, expect, test } from "vitest";
import { metric, range, until } from "./harness/cluster.ts";
import { RecordingSubscriber } from "./harness/recording_clients.ts";
import { RecordingPublisher } from "./harness/recording_publisher.ts";
import { useTestCluster } from "./harness/cluster_suite.ts";

/**
 * A node that loses its lease rejoins in place instead of exiting (docs/GUARANTEES.md, "Registry
 * and fencing"): a real cluster (PostgreSQL, a Hazelcast member, 3 `storm serve` processes, lease
 * 2 s) whose Hazelcast member is restarted under traffic from recording WebSocket clients. The
 * member's restart outlasts every node's lease and its maps come back empty; before, every node
 * exited 75 at once and every client connection dropped.
 */
const LEASE_MS = 2_000;
const cluster = useTestCluster({ nodes: 3, leaseMs: LEASE_MS, heal: true });
const { subscribers, publishers } = cluster;

describe("cluster rejoin", () => {
  test("cluster - a Hazelcast member restart past the lease: no node exits, client sockets stay open, publishes resume, histories clean", async () => {
    const ch = "hz-restart-1";
    await cluster.tc.createChannel("hz-pub", ch, 0);
    await cluster.tc.activePlacement(ch);
    const subs: RecordingSubscriber[] = [];
    for (const i of [0, 1, 2]) {
      const s = new RecordingSubscriber({ client: `hz-sub-${i}`, user: `hz-sub-${i}`, ch, token: await cluster.tc.token(`hz-sub-${i}`), history: cluster.tc.history, url: () => cluster.tc.wsUrl(i) });
      subscribers.push(s);
      subs.push(await s.start());
    }
    // Publishes through node 1; while no node holds a lease they get `unavailable` and are retried
    // with the same client id (G3) until acknowledged.
    const pub = new RecordingPublisher({
      client: "hz-pub", user: "hz-pub", ch, token: await cluster.tc.token("hz-pub"), history: cluster.tc.history, url: () => cluster.tc.wsUrl(1), width: 4,
      giveUpMs: 120_000, requestTimeoutMs: 3_000,
    });
    publishers.push(pub);
    const running = pub.run();
    await pub.waitFor(() => pub.acks.length >= 100, 20_000, "100 acks before the restart");

    const procs = [0, 1, 2].map((i) => cluster.tc.node(i).proc);
    const ids = [0, 1, 2].map((i) => cluster.tc.node(i).id);
    const tDown = Date.now();
    const restarted = cluster.tc.c.restartHazelcast();
    // When the publishers' node serves again (its rejoin is logged; polled every 50 ms).
    const rejoined1 = until(() => cluster.tc.node(1).id !== ids[1], 90_000, "node 1's rejoin").then(() => Date.now());
    // Meanwhile: not ready (a load balancer sends no new client), alive, and still scraped.
    await until(async () => (await cluster.tc.http(0, "GET", "/readyz")).status === 503, 20_000, "node 0 not ready while it holds no lease");
    expect((await cluster.tc.http(0, "GET", "/livez")).status).toBe(200);
    // The lease stops being held at its deadline; the loss is counted at the keeper's next tick
    // (a third of the lease later at most), and the node still answers scrapes meanwhile.
    const scrape = () => fetch(`${cluster.tc.node(0).url}/metrics`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.text());
    await until(async () => /^storm_lease_lost_total 1$/m.test(await scrape()), 10_000, "node 0 counts its lost lease");
    await restarted;
    const tUp = Date.now();
    // The member was away longer than the lease: every node lost it and took a new incarnation.
    expect(tUp - tDown).toBeGreaterThan(LEASE_MS);
    await until(() => [0, 1, 2].every((i) => cluster.tc.node(i).id !== ids[i]), 60_000, "every node's rejoin as a new incarnation");
    await pub.waitFor(() => pub.acks.some((a) => a.sentAt >= tUp), 30_000, "an ack for a publish sent after the member came back");
    const backMs = Math.min(...pub.acks.filter((a) => a.sentAt >= tUp).map((a) => a.ackAt)) - tUp;
    metric("hazelcast_restart_publish_back_ms", backMs, { leaseMs: LEASE_MS, memberDownMs: tUp - tDown });
    // Publishes made while node 1 held no lease wait there for its rejoin (up to 5 s) rather than
    // fail: the first ack after the rejoin, and how many acked publishes had been sent before it.
    const rejoinAt = await rejoined1;
    await pub.waitFor(() => pub.acks.some((a) => a.ackAt >= rejoinAt), 30_000, "an ack after node 1's rejoin");
    const afterRejoin = pub.acks.filter((a) => a.ackAt >= rejoinAt);
    metric("hazelcast_restart_ack_after_rejoin_ms", Math.min(...afterRejoin.map((a) => a.ackAt)) - rejoinAt, {
      rejoinAfterMemberMs: rejoinAt - tUp, sentBeforeRejoin: afterRejoin.filter((a) => a.sentAt < rejoinAt).length,
    });
    // Within a bound after the member is back: a lease attempt (every <= 2 s), fresh workers, a claim.
    expect(backMs).toBeLessThan(15_000);
    const mark = pub.acks.length;
    await pub.waitFor(() => pub.acks.length >= mark + 100, 30_000, "100 acks after the rejoin");
    await cluster.tc.waitForMembership();
    for (const i of [0, 1, 2]) expect((await cluster.tc.http(i, "GET", "/readyz")).status, `node ${i} ready again`).toBe(200);

    for (const [i, proc] of procs.entries()) {
      expect(cluster.tc.node(i).proc, `node ${i}'s process`).toBe(proc);
      expect(proc.exitCode, `node ${i}'s exit code`).toBeNull();
      expect(proc.signalCode, `node ${i}'s exit signal`).toBeNull();
    }
    const lost = cluster.tc.logs().filter((l) => l.includes("lease lost"));
    expect(new Set(lost.map((l) => l.slice(0, 4))).size, "every node logged its lost lease").toBe(3);

    await pub.stop();
    await running;
    const N = pub.maxSeq();
    const acked = new Map(pub.acks.map((a) => [a.seq, a.cid]));
    expect([...acked.keys()].sort((a, b) => a - b), "every seq acked").toEqual(range(1, N));
    for (const s of subs) {
      await s.waitForSeq(N, 30_000);
      expect(s.seqs(), `${s.o.client} (closes ${JSON.stringify(s.closes)})`).toEqual(range(1, N));
      expect(s.delivered.map((d) => d.cid), s.o.client).toEqual(range(1, N).map((q) => acked.get(q)));
      // Its WebSocket stayed open through the outage: one connection, never closed.
      expect({ client: s.o.client, connections: s.connections, closes: s.closes }).toEqual({ client: s.o.client, connections: 1, closes: [] });
    }
    const { stats } = await cluster.tc.check([ch]);
    expect(stats.lastSeq[ch]).toBe(N);
  }, 240_000);
});
