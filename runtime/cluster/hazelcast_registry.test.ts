import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "hazelcast-client";
import { skipHazelcast, startHazelcast, type HazelcastMember } from "../../tests/harness/hazelcast.ts";
import { runRegistryConformance } from "../core/registry_conformance.ts";
import { HazelcastRegistry, hazelcastLeaseTtl } from "./hazelcast_registry.ts";

type SharedClient = Awaited<ReturnType<typeof Client.newHazelcastClient>>;

let member: HazelcastMember | undefined;
let shared: SharedClient | undefined;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe.skipIf(skipHazelcast)("HazelcastRegistry on a real member", () => {
  beforeAll(async () => {
    const t0 = Date.now();
    member = await startHazelcast();
    console.info(`hazelcast member ${member.address} (${member.clusterName}) started in ${Date.now() - t0} ms`);
    shared = await Client.newHazelcastClient({
      clusterName: member.clusterName,
      network: { clusterMembers: [member.address] },
      properties: { "hazelcast.logging.level": "WARN" },
    });
  }, 120_000);

  afterAll(async () => {
    await shared?.shutdown();
    await member?.stop();
  }, 30_000);

  const connect = () => HazelcastRegistry.connect({ clusterName: member!.clusterName, members: [member!.address], heartbeatTimeoutMs: 5_000 });

  // Real time: Hazelcast's TTL has a 1 s resolution, and `hazelcastLeaseTtl` rounds up, so 2 s is
  // the smallest TTL whose "expired after 2 x TTL" check has a margin (lives 2..3 s, checked at 4 s).
  const leaseTtlMs = 2_000;

  // A client per registry: close() shuts that client down, and must not disturb the others.
  runRegistryConformance("hazelcast (client per registry)", { open: connect, passTime: sleep, leaseTtlMs });

  // One client shared by many registries under a different map prefix: close() leaves it open.
  runRegistryConformance("hazelcast (shared client, prefix storm-b)", {
    open: () => HazelcastRegistry.fromClient(shared!, { prefix: "storm-b" }),
    passTime: sleep,
    leaseTtlMs,
  });

  describe("hazelcast specifics", () => {
    it("registries with different prefixes do not see each other", async () => {
      const a = await HazelcastRegistry.fromClient(shared!, { prefix: "iso-a" });
      const b = await HazelcastRegistry.fromClient(shared!, { prefix: "iso-b" });
      await a.claim("channel:iso", { node: "a", worker: 0, epoch: 1 });
      expect(await b.lookup("channel:iso")).toBeNull();
      expect(await b.claim("channel:iso", { node: "b", worker: 0, epoch: 1 })).toEqual({ node: "b", worker: 0, epoch: 1 });
      await a.renewLease({ node: "iso-node", address: "ws://x", renewedAt: 1, load: 0 }, 5_000);
      expect((await b.liveNodes()).map((l) => l.node)).not.toContain("iso-node");
    });

    it("list treats regex and LIKE metacharacters in the prefix literally", async () => {
      const r = await HazelcastRegistry.fromClient(shared!, { prefix: "meta" });
      const p = { node: "n", worker: 0, epoch: 1 };
      const ids = ["channel:a_b%c.*", "channel:a_b%c.*z", "channel:aXb%c.*", "channel:a_b%cX*", "channel:q\\E.*", "channel:q\\E.*1"];
      for (const id of ids) await r.claim(id, p);
      expect((await r.list("channel:a_b%c.*")).map((e) => e.id)).toEqual(["channel:a_b%c.*", "channel:a_b%c.*z"]);
      expect((await r.list("channel:q\\E.*")).map((e) => e.id)).toEqual(["channel:q\\E.*", "channel:q\\E.*1"]);
      expect((await r.list("channel:")).length).toBe(ids.length);
    });

    it("a lease lives at least its TTL despite Hazelcast's whole-second expiry", async () => {
      // Written at ten phases of a second: without the rounding in hazelcastLeaseTtl some would
      // vanish up to 1 s early.
      const r = await HazelcastRegistry.fromClient(shared!, { prefix: "ttl" });
      const ttl = 1_000;
      const written: Array<{ node: string; at: number }> = [];
      for (let i = 0; i < 10; i++) {
        const node = `ttl-${i}`;
        await r.renewLease({ node, address: "ws://x", renewedAt: 0, load: 0 }, ttl);
        written.push({ node, at: Date.now() });
        await sleep(97);
      }
      const lifetimes = new Map<string, number>();
      while (lifetimes.size < written.length) {
        const live = new Set((await r.liveNodes()).map((l) => l.node));
        const now = Date.now();
        for (const w of written) if (!lifetimes.has(w.node) && !live.has(w.node)) lifetimes.set(w.node, now - w.at);
        await sleep(20);
      }
      for (const [node, ms] of lifetimes) {
        expect(ms, node).toBeGreaterThanOrEqual(ttl);
        expect(ms, node).toBeLessThanOrEqual(hazelcastLeaseTtl(ttl) + 200);
      }
    });
  });
});
