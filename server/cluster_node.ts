import type { NodeConfig } from "./config.ts";
import type { ActorSystem } from "../runtime/core/actor_system.ts";
import type { Placement } from "../runtime/core/registry.ts";
import { systemClock } from "../runtime/platform/system_clock.ts";
import { ClusterAdmin } from "../runtime/cluster/cluster_admin.ts";
import { ClusterRouter } from "../runtime/cluster/cluster_router.ts";
import { HazelcastRegistry } from "../runtime/cluster/hazelcast_registry.ts";
import { LeaseKeeper } from "../runtime/cluster/lease_keeper.ts";
import { NodeLinks } from "../runtime/cluster/node_links.ts";
import { turnEnd } from "../runtime/platform/node_platform.ts";

/** What the rest of the node does when the lease is lost and taken again (`LeaseKeeper`). */
export interface RejoinHooks {
  /** A fresh incarnation id, never used before. */
  nextIncarnation(): string;
  /** The lease is lost: the router and the actors are already stopped; the edge keeps its sockets, idle. */
  onLost(reason: string): void;
  /** A lease is held again as `node` (`old` is dead): the router and fresh workers serve; resume the edge. */
  onRejoined(node: string, old: string): void;
  /** Dropping the actors or starting them again failed: the node cannot continue in place. */
  onFatal(err: unknown): void;
}

export interface ClusterParts {
  router: ClusterRouter;
  links: NodeLinks;
  admin: ClusterAdmin;
  /** Takes the lease (the node becomes visible to others) once the edge listens at `address`. */
  start(address: string, hooks: RejoinHooks): Promise<void>;
  /** Gives the lease back and closes the links (graceful stop). */
  leave(): Promise<void>;
  /** The lease is held, so the registry answered within the lease's TTL (readiness). */
  leaseHeld(): boolean;
  /** Successful renewals of this node's lease so far. */
  leaseRenewals(): number;
  /** Leases lost, and leases taken again under a new incarnation, so far. */
  leaseLosses(): number;
  rejoins(): number;
}

/**
 * Cluster mode's composition: the Hazelcast registry (directory and liveness), node links, the
 * router, the lease keeper and operator actions. PostgreSQL epochs remain the arbiter of ownership.
 */
export async function joinCluster(cfg: NodeConfig, self: string, log: (msg: string, err?: unknown) => void) {
  if (!cfg.clusterSecret) throw new Error("Cannot join a cluster without --cluster-secret: node links must authenticate");
  const secret = cfg.clusterSecret;
  const registry = await HazelcastRegistry.connect({ clusterName: cfg.clusterName, members: cfg.cluster!, heartbeatTimeoutMs: Math.max(2_000, cfg.leaseMs) });
  let router: ClusterRouter | undefined;
  return {
    registry,
    router: (): ClusterRouter => router!,
    wire(o: {
      system: ActorSystem;
      onEdgeEvent(ev: unknown): void;
      onEdgeGone(edge: string, ev: unknown): void;
      onPlacement(id: string, p: Placement | null): void;
      onLiveNodes(n: number): void;
      onTakenOver(id: string, ms: number): void;
    }): ClusterParts {
      const links = new NodeLinks({ self, secret, defer: turnEnd.early, onFrames: (from, frames) => r.onFrames(from, frames), onPeerGone: (node) => r.peerGone(node), log });
      const r = new ClusterRouter({
        self, system: o.system, registry, links, clock: systemClock, askTimeoutMs: cfg.askTimeoutMs, onEdgeEvent: o.onEdgeEvent, onEdgeGone: o.onEdgeGone, onPlacement: o.onPlacement, onTakenOver: o.onTakenOver, log,
        localKinds: ["session"],
      });
      router = r;
      const admin = new ClusterAdmin(() => o.system.nodeId, registry, r, () => Date.now());
      let keeper: LeaseKeeper | undefined;
      let stopWatch: (() => Promise<void>) | undefined;
      return {
        router: r,
        links,
        admin,
        async start(address, hooks) {
          // A session is claimed by the node its user connects to, which learns the placement from
          // the claim: an `added` event per connect to every node would be pure cost. Its moves and
          // releases are still heard (a node holding a moved session drops its activation).
          stopWatch = await registry.watch((id, p) => r.onWatch(id, p), { quietClaims: ["session"] });
          keeper = new LeaseKeeper({
            registry, node: self, address, ttlMs: cfg.leaseMs, clock: systemClock, load: () => 0,
            nextIncarnation: hooks.nextIncarnation,
            // Routing stops first (nothing new reaches the workers), then every activation is dropped.
            async onLost(reason) {
              r.suspend();
              hooks.onLost(reason);
              await o.system.halt();
            },
            onRejoined(node, old, live) {
              o.system.resume(node);
              r.rejoin(node, live);
              o.onLiveNodes(live.length);
              hooks.onRejoined(node, old);
            },
            onFatal: hooks.onFatal,
            onLiveNodes: (nodes) => {
              r.setLiveNodes(nodes);
              o.onLiveNodes(nodes.length);
            }, log,
          });
          await keeper.start();
        },
        leaseHeld: () => keeper?.held ?? false,
        leaseRenewals: () => keeper?.renewals ?? 0,
        leaseLosses: () => keeper?.losses ?? 0,
        rejoins: () => keeper?.rejoins ?? 0,
        async leave() {
          await keeper?.stop();
          await stopWatch?.();
          r.close();
          links.close();
        },
      };
    },
  };
}
