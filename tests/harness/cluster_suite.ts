import { afterAll, afterEach, beforeAll } from "vitest";
import { startTestCluster, type TestCluster } from "./cluster.ts";
import type { RecordingSubscriber } from "./recording_clients.ts";
import type { RecordingPublisher } from "./recording_publisher.ts";

/** A test file's cluster, started once, and the recording clients its tests register for cleanup. */
export interface ClusterSuite {
  readonly tc: TestCluster;
  readonly subscribers: RecordingSubscriber[];
  readonly publishers: RecordingPublisher[];
}

/**
 * Registers the hooks of a file of cluster tests: a cluster of `nodes` started before them and
 * stopped after; after each test its recording clients are closed and, with `heal`, whatever the
 * test took down (a killed or paused node, a stopped member) is brought back.
 */
export function useTestCluster(o: { nodes: number; leaseMs: number; heal: boolean }): ClusterSuite {
  let tc: TestCluster | undefined;
  const suite: ClusterSuite = {
    get tc() {
      if (!tc) throw new Error("the test cluster is not started (used outside a test?)");
      return tc;
    },
    subscribers: [],
    publishers: [],
  };
  beforeAll(async () => {
    tc = await startTestCluster({ nodes: o.nodes, leaseMs: o.leaseMs });
    await tc.waitForMembership();
  }, 150_000);
  afterEach(async () => {
    for (const p of suite.publishers.splice(0)) p.close();
    for (const s of suite.subscribers.splice(0)) s.stop();
    if (o.heal) await tc?.heal();
  }, 60_000);
  afterAll(async () => {
    await tc?.stop();
  }, 60_000);
  return suite;
}
