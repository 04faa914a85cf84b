import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { startTestCluster, type TestCluster } from "./harness/cluster.ts";
import { type StormProcess, startStorm } from "./harness/storm_process.ts";
import { type ConformanceEnv, RECEIVERS, sseTransport } from "./harness/transport_clients.ts";
import { WsClient } from "./harness/ws_client.ts";
import { CASES, g4ResumeAfterDrop } from "./transport_conformance.ts";

/**
 * The transport conformance suite (tests/transport_conformance.ts) over WebSocket, SSE, long-poll
 * and `/api/sync`, on one node and on a 3-node cluster (PostgreSQL + Hazelcast) where a client's
 * successive requests go to different nodes; and the proof that it can fail: a node whose SSE
 * events carry no resume position (`--test-broken-sse-resume`) fails the resume case.
 *
 * "Past retained history" needs a journal with its oldest entries gone. Nothing trims the journal
 * yet (retention is issue 29's), so the cluster case deletes them from PostgreSQL itself, with the
 * channel's in-memory history at 5 messages so the resume reads the store; on one node the
 * embedded store cannot be reached from outside and the case is skipped there.
 */
const short = { websocket: "ws", sse: "sse", "long-poll": "lp", "api-sync": "sy" } as Record<string, string>;
const SKIP_ONE_NODE = new Set(["G4 a position past retained history is reported truncated"]);

function tokens(get: (user: string) => Promise<string>): (user: string) => Promise<string> {
  const cache = new Map<string, Promise<string>>();
  return (user) => {
    let t = cache.get(user);
    if (!t) cache.set(user, (t = get(user)));
    return t;
  };
}

describe("transports on one node", () => {
  let node: StormProcess;
  let env: ConformanceEnv;
  beforeAll(async () => {
    node = await startStorm({ workers: 1, startTimeoutMs: 120_000 });
    env = { nodes: 1, url: () => node.url, token: tokens((u) => node.token(u)) };
  }, 180_000);
  afterAll(async () => {
    await node?.stop();
  });

  for (const t of RECEIVERS) {
    for (const [name, run] of Object.entries(CASES)) {
      test.skipIf(SKIP_ONE_NODE.has(name))(`${t.name} - ${name}`, () => run(env, t, `n${short[t.name]}${name.slice(0, 2)}`), 60_000);
    }
  }
});

describe("the suite can fail", () => {
  let broken: StormProcess;
  beforeAll(async () => {
    broken = await startStorm({ workers: 1, startTimeoutMs: 120_000, args: ["--test-broken-sse-resume"] });
  }, 180_000);
  afterAll(async () => {
    await broken?.stop();
  });

  test("sse - an adapter that drops the resume position fails the resume case", async () => {
    const env: ConformanceEnv = { nodes: 1, url: () => broken.url, token: tokens((u) => broken.token(u)) };
    // It fails on what it checks: the resumed stream starts over, so messages arrive twice.
    await expect(g4ResumeAfterDrop(env, sseTransport, "broken")).rejects.toThrow(/deeply equal/);
  }, 60_000);
});

describe("transports on a 3-node cluster", () => {
  let tc: TestCluster;
  let env: ConformanceEnv;
  let db: pg.Client;
  beforeAll(async () => {
    // Each node enforces a third of a user's connection limit (6 per 10 min): see the last test.
    // A long lease: on this shared machine a node whose renewal runs late exits (crash-only), and
    // these cases are about transports, not failover (tests/cluster_failover.test.ts).
    tc = await startTestCluster({ nodes: 3, leaseMs: 6_000, args: ["--history", "5", "--rl-connect-user", "6/600"] });
    await tc.waitForMembership();
    db = new pg.Client({ connectionString: tc.c.postgresUrl });
    await db.connect();
    env = {
      nodes: 3,
      url: (i) => tc.node(i).url,
      token: tokens((u) => tc.token(u)),
      trim: async (ch, upto) => {
        await db.query("DELETE FROM journal WHERE actor_id = $1 AND seq <= $2", [`channel:${ch}`, upto]);
      },
    };
  }, 240_000);
  beforeEach(async () => {
    // Should a node still have exited (a late lease renewal), the next case gets a whole cluster.
    await tc.heal();
  }, 120_000);
  afterAll(async () => {
    await db?.end();
    await tc?.stop();
  }, 60_000);

  for (const t of RECEIVERS) {
    for (const [name, run] of Object.entries(CASES)) {
      test(`${t.name} - ${name}`, () => run(env, t, `c${short[t.name]}${name.slice(0, 2)}`), 90_000);
    }
  }

  test("rate limits - a user's limit holds across nodes: each node enforces its share of it", async () => {
    const token = await tc.token("rl-cluster");
    const clients: WsClient[] = [];
    try {
      // 6 per user, 3 live nodes: 2 on each node, whichever node the client picks.
      for (let i = 0; i < 4; i++) clients.push(await WsClient.connect(tc.wsUrl(i % 2), token));
      await expect(WsClient.connect(tc.wsUrl(0), token)).rejects.toThrow(/429/);
      await expect(WsClient.connect(tc.wsUrl(1), token)).rejects.toThrow(/429/);
      clients.push(await WsClient.connect(tc.wsUrl(2), token));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  }, 60_000);
});
