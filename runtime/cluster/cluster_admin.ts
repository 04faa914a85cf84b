import type { ActorId } from "../core/actor_id.ts";
import type { Placement, Registry } from "../core/registry.ts";
import type { ClusterRouter } from "./cluster_router.ts";
import { rendezvous } from "./rendezvous.ts";
import { RejectedError } from "../core/errors.ts";

export interface NodeView {
  node: string;
  address: string;
  leaseAgeMs: number;
  load: number;
  self: boolean;
}

/**
 * Operator actions on a cluster: what the inspector CLI calls through `/admin/*`.
 *
 * Planned migration: the placement is switched to the target node first (new messages go there),
 * then the actor is woken on the target, whose new epoch fences the old activation: anything the
 * old one still tries to commit is rejected and its callers retry (exactly-once by client id), and
 * subscribed edges resubscribe to the new activation from their cursors. Nothing acknowledged is
 * lost and the journal order is the epochs' order.
 */
export class ClusterAdmin {
  constructor(
    /** This node's current incarnation id. */
    private readonly self: () => string,
    private readonly registry: Registry,
    private readonly router: ClusterRouter,
    private readonly now: () => number,
  ) {}

  nodes(): NodeView[] {
    return this.router.liveNodes().map((l) => ({ node: l.node, address: l.address, leaseAgeMs: this.now() - l.renewedAt, load: l.load, self: l.node === this.self() }))
      .sort((a, b) => (a.node < b.node ? -1 : 1));
  }

  placements(prefix = ""): Promise<Array<{ id: ActorId; placement: Placement }>> {
    return this.registry.list(prefix);
  }

  async migrate(id: ActorId, to: string): Promise<{ from: string | null; to: string }> {
    if (!this.router.liveNodes().some((n) => n.node === to)) throw new RejectedError("not_found", `Cannot migrate ${id}: node "${to}" is not live`);
    for (let attempt = 0; attempt < 5; attempt++) {
      const cur = await this.registry.lookup(id);
      const next: Placement = { node: to, worker: 0, epoch: cur?.epoch ?? 0 };
      if (cur?.node === to) return { from: to, to };
      const ok = cur ? await this.registry.replace(id, cur, next) : (await this.registry.claim(id, next)).node === to;
      if (!ok) continue;
      this.router.onWatch(id, next);
      this.router.tell(id, { type: "wake" });
      return { from: cur?.node ?? null, to };
    }
    throw new RejectedError("unavailable", `Cannot migrate ${id}: its placement keeps changing`);
  }

  /** Moves every actor placed on `node` to the other live nodes (rendezvous over them). */
  async drain(node: string): Promise<{ moved: number; failed: string[] }> {
    const others = this.router.liveNodes().map((l) => l.node).filter((n) => n !== node);
    if (others.length === 0) throw new RejectedError("unavailable", `Cannot drain ${node}: no other live node`);
    const failed: string[] = [];
    let moved = 0;
    for (const { id, placement } of await this.registry.list()) {
      if (placement.node !== node) continue;
      try {
        await this.migrate(id, rendezvous(id, others)!);
        moved++;
      } catch {
        failed.push(id);
      }
    }
    return { moved, failed };
  }
}
