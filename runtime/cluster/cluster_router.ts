import { type ActorId, parseActorId } from "../core/actor_id.ts";
import type { ActorSystem } from "../core/actor_system.ts";
import type { Clock, Timer } from "../core/clock.ts";
import { toWireError, UnavailableError } from "../core/errors.ts";
import { PendingAsks } from "../core/pending_asks.ts";
import type { NodeLease, Placement, Registry } from "../core/registry.ts";
import type { LinkFrame, NodeLinks } from "./node_links.ts";
import { type ParkedAsk, ParkedAsks } from "./parked_asks.ts";
import { TaskPool } from "../../lib/task_pool.ts";
import { rendezvous } from "./rendezvous.ts";

export interface ClusterRouterOptions {
  /** This node's incarnation id (unique per process start: a node that lost its lease never returns). */
  self: string;
  system: ActorSystem;
  registry: Registry;
  links: NodeLinks;
  clock: Clock;
  askTimeoutMs: number;
  onEdgeEvent(msg: unknown): void;
  /**
   * A tell for an edge on an incarnation that holds no lease was dropped (that edge is gone for
   * good): its sender may stop waiting for it, e.g. a channel whose flow control waits for the
   * edge's delivery reports and would otherwise hold publishes until it drops the edge itself.
   */
  onEdgeGone?(edge: string, msg: unknown): void;
  /** A placement changed (from the registry's watch); the edge resubscribes moved channels. */
  onPlacement(id: ActorId, p: Placement | null): void;
  /**
   * An actor taken over from a dead node answered its first message: `ms` since this node saw the
   * dead node's lease gone (`storm_failover_seconds`).
   */
  onTakenOver?(id: ActorId, ms: number): void;
  /**
   * Kinds placed on the node that first routes to them rather than by rendezvous hashing: a
   * user's session then lives on the node the user connected to, and a connect needs no hop to
   * another node (with rendezvous, half of a two-node cluster's connects took one each way).
   * Takeovers still go by rendezvous, and a draining node places nothing on itself.
   */
  localKinds?: readonly string[];
  /**
   * Asks made while the node holds no lease wait for its rejoin (`ParkedAsks`): at most this many
   * (default 10,000), each at most `parkMs` (default 3 s) and half its own timeout; past either
   * bound they fail `unavailable`, as they all did before.
   */
  parkMax?: number;
  parkMs?: number;
  log(msg: string, err?: unknown): void;
}

const MAX_HOPS = 3;
/** Taken-over actors woken at once (each an activation: a store read, an epoch write). */
const WAKE_CONCURRENCY = 32;

/**
 * Location transparency for a cluster: sends each actor message to the node its placement names,
 * claiming a placement (rendezvous hashing over live nodes) for an actor that has none or whose
 * node's lease expired. Placements are cached and refreshed by the registry's watch; a node that
 * receives a message for an actor it does not own forwards it (bounded hops).
 *
 * Order: messages for one actor wait behind that actor's pending lookup, so one sender's messages
 * leave in order; each link is ordered. Across a migration a forwarded message may be overtaken:
 * order is then decided by the actor, which is the only thing G1 promises.
 */
export class ClusterRouter {
  edgeId: string;
  readonly #o: ClusterRouterOptions;
  /** This incarnation's id (a rejoin after a lost lease takes a new one). */
  #self: string;
  /** Set by `suspend`: this node holds no lease and routes nothing until `rejoin`. */
  #suspended = false;
  /** Counts lost leases: a lookup started under an earlier incarnation answers for a dead one. */
  #generation = 0;
  /** Asks made while suspended, routed on `rejoin`. */
  readonly #parked: ParkedAsks;
  /** Paces the wakes of taken-over actors. */
  readonly #wakes = new TaskPool(WAKE_CONCURRENCY);
  #live = new Map<string, NodeLease>();
  readonly #cache = new Map<ActorId, Placement>();
  readonly #waiting = new Map<ActorId, Array<(p: Placement | Error) => void>>();
  readonly #asks = new PendingAsks<string>();
  /** Nodes whose link was refused while their lease was still listed (`peerGone`). */
  readonly #gone = new Set<string>();
  #sweeper: Timer;
  /** Placements this node moved off dead nodes, by its takeover scan or on a message's way (`storm_failovers_total`). */
  takeovers = 0;
  /** Set by `drain`: this node places no new actor on itself and takes none over. */
  #draining = false;

  constructor(o: ClusterRouterOptions) {
    this.#o = o;
    this.#self = o.self;
    this.edgeId = `edge:${o.self}`;
    this.#parked = new ParkedAsks(o.parkMax ?? 10_000, o.parkMs ?? 3_000);
    this.#sweeper = o.clock.setInterval(() => {
      const now = o.clock.now();
      this.#asks.expire(now);
      for (const a of this.#parked.expired(now)) a.reject(this.#unleased(a.to, `not within ${this.#parked.deadline(a) - a.since} ms`));
    }, 100);
  }

  /** Asks waiting for this node's rejoin. */
  get parked(): number {
    return this.#parked.size;
  }

  liveNodes(): NodeLease[] {
    return [...this.#live.values()];
  }

  tell(to: string, msg: unknown, hops = 0): void {
    // Without a lease a tell has nowhere to go; dropped quietly (delivery reports, presence) rather
    // than logged once each: the edge resends what matters when the node rejoins.
    if (this.#suspended) return;
    if (to.startsWith("edge:")) return this.#toEdge(to, msg, hops);
    this.#route(to, (p) => {
      if (p instanceof Error) return this.#o.log(`dropped a message for ${to}`, p);
      if (p.node === this.#self) this.#o.system.tell(to, msg);
      else this.#send(p.node, [0, to, msg, hops]);
    });
  }

  /**
   * Sends `msg` to `to` and resolves with its reply. Without a lease (the node is rejoining) the
   * ask is parked, not failed: it is routed once the node holds a lease again, by the new
   * incarnation's placements (never by the dead one's: nothing parked has reached an actor).
   */
  ask<T>(to: ActorId, msg: unknown, timeoutMs = this.#o.askTimeoutMs, hops = 0): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#ask({ to, msg, since: this.#o.clock.now(), timeoutMs, hops, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  #ask(a: ParkedAsk): void {
    if (this.#suspended) return this.#park(a);
    const generation = this.#generation;
    this.#route(a.to, (p) => {
      // The lease was lost while the placement was looked up: park it, or route it again if the
      // node already rejoined (the placement found names the dead incarnation's view).
      if (generation !== this.#generation) return this.#ask(a);
      if (p instanceof Error) return a.reject(p);
      const timeoutMs = Math.max(1, a.since + a.timeoutMs - this.#o.clock.now());
      if (p.node === this.#self) return void this.#o.system.ask(a.to, a.msg, timeoutMs).then(a.resolve, a.reject);
      const reqId = this.#asks.add(a.to, p.node, this.#o.clock.now() + timeoutMs, a.resolve, a.reject);
      this.#send(p.node, [1, a.to, a.msg, reqId, a.hops]);
    });
  }

  #park(a: ParkedAsk): void {
    if (this.#parked.park(a, this.#o.clock.now())) return;
    a.reject(this.#unleased(a.to, this.#parked.size >= this.#parked.max ? `${this.#parked.max} requests wait already` : "no time left to wait"));
  }

  #unleased(to: ActorId, why: string): UnavailableError {
    return new UnavailableError(`Cannot route to ${to}: this node holds no cluster lease (it is rejoining) and ${why}: retry`);
  }

  /** Frames from a peer: messages for actors (delivered or forwarded), replies to our asks. */
  onFrames(from: string, frames: LinkFrame[]): void {
    // Frames prove the sender alive: a refused connect was a fluke (its lease decides again).
    this.#gone.delete(from);
    for (const f of frames) {
      // A request is parked like any ask made here (below); a tell has nowhere to go.
      if (this.#suspended && f[0] === 0) {
        continue;
      } else if (f[0] === 0) {
        if (f[3] < MAX_HOPS) {
          this.#doubt(f[1]);
          this.tell(f[1], f[2], f[3] + 1);
        }
      } else if (f[0] === 1) {
        const [, to, msg, reqId, hops] = f;
        const reply = (frame: LinkFrame) => this.#send(from, frame);
        if (hops >= MAX_HOPS) {
          reply([2, reqId, false, toWireError(new UnavailableError(`Cannot route to ${to}: too many hops`))]);
          continue;
        }
        this.#doubt(to);
        this.ask(to, msg, this.#o.askTimeoutMs, hops + 1).then((v) => reply([2, reqId, true, v]), (e) => reply([2, reqId, false, toWireError(e)]));
      } else {
        this.#asks.settle(f[1], f[2], f[3]);
      }
    }
  }

  /**
   * A placement changed in the registry: refresh the cache, let the edge react. The watch reports
   * every channel of the cluster, and a session's takeovers and releases (not its claims: quiet
   * kinds), so the cache takes only what this node hosts or has routed to; anything else is
   * looked up on first use.
   */
  onWatch(id: ActorId, p: Placement | null): void {
    if (!p) this.#cache.delete(id);
    else if (p.node === this.#self || this.#cache.has(id)) this.#cache.set(id, p);
    // An activation left behind here would answer reads from stale memory until its next write
    // is fenced: drop it as soon as the placement names another node.
    if (p && p.node !== this.#self) this.#o.system.evict(id);
    this.#o.onPlacement(id, p);
  }

  /**
   * New view of the live nodes. Actors placed on nodes that died are taken over: each survivor
   * claims those that rendezvous hashing gives it and activates them (a few dozen at a time), so
   * their subscribers resume without waiting for the next message. Kinds placed locally (sessions)
   * are left: the next node to route to one claims it for itself, its user's edge.
   */
  setLiveNodes(leases: readonly NodeLease[]): void {
    const before = this.#live;
    // A node whose link refused stays dead here until its lease is gone too (its id never returns).
    const listed = new Set(leases.map((l) => l.node));
    for (const n of this.#gone) if (!listed.has(n)) this.#gone.delete(n);
    this.#live = new Map(leases.filter((l) => !this.#gone.has(l.node)).map((l) => [l.node, l]));
    for (const l of this.#live.values()) if (l.node !== this.#self) this.#o.links.ensure(l.node, l.address);
    const dead = [...before.keys()].filter((n) => !this.#live.has(n) && n !== this.#self);
    if (dead.length > 0) this.#buryAndTakeOver(dead);
  }

  /**
   * A live peer's link was refused: its process is gone, and its actors are taken over now rather
   * than when its lease expires. Safe for G5 even were the peer alive: the takeover moves the
   * placement, and the new activation takes a higher epoch in the store, after which every write
   * of the old one is refused there (the lease never was the fence; the epoch is).
   */
  peerGone(node: string): void {
    if (node === this.#self || !this.#live.has(node)) return;
    this.#o.log(`node ${node} refuses connections: taking over its actors before its lease expires`);
    this.#gone.add(node);
    this.#live.delete(node);
    this.#buryAndTakeOver([node]);
  }

  #buryAndTakeOver(dead: string[]): void {
    for (const n of dead) this.#o.links.forget(n);
    // Requests in flight to a dead node will never be answered: fail them now so callers retry
    // (exactly-once by client id) against the actor's next placement instead of waiting out a timeout.
    this.#asks.failWhere((node) => dead.includes(node), (to, node) => new UnavailableError(`Node ${node} died while ${to} handled the request`));
    for (const [id, p] of this.#cache) if (dead.includes(p.node)) this.#cache.delete(id);
    void this.#takeOver(new Set(dead), this.#o.clock.now()).catch((err) => this.#o.log("takeover scan failed", err));
  }

  /**
   * This node is leaving (a graceful stop): from now on new placements go to the other live nodes
   * and dead nodes' actors are left to them, so that moving its actors away is not undone.
   */
  drain(): void {
    this.#draining = true;
  }

  /**
   * This node lost its lease: others may own its actors already. Asks in flight fail with
   * `unavailable` (they may have been applied: callers retry, exactly-once by client id); new asks
   * are parked until `rejoin` (bounded, see `ParkedAsks`). Until then nothing is routed: no
   * placement is claimed, no actor activated here, no edge event delivered (the edge resumes its
   * streams from their cursors on rejoin).
   */
  suspend(): void {
    this.#suspended = true;
    this.#generation++;
    this.#cache.clear();
    this.#waiting.clear();
    this.#wakes.clear();
    this.#asks.failWhere(() => true, (to) => new UnavailableError(`Node lost its cluster lease while ${to} handled the request: retry`));
  }

  /**
   * A lease is held again under the new incarnation `self`. `live` is the lease table read with it:
   * the old incarnation is not in it, so its placements are taken over like any dead node's. The
   * parked asks are routed now, in the order they came, ahead of anything the edge sends on its
   * resume (so an `edge_down` for the old edge reaches an actor after a parked ask that named it).
   */
  rejoin(self: string, live: readonly NodeLease[]): void {
    this.#self = self;
    this.edgeId = `edge:${self}`;
    this.#cache.clear();
    this.#suspended = false;
    this.#o.links.rename(self);
    this.setLiveNodes(live);
    for (const a of this.#parked.take()) this.#ask(a);
  }

  close(): void {
    this.#sweeper.cancel();
    this.#asks.failWhere(() => true, () => new UnavailableError("Node is shutting down"));
    for (const a of this.#parked.take()) a.reject(new UnavailableError("Node is shutting down"));
  }

  async #takeOver(dead: Set<string>, noticed: number): Promise<void> {
    if (this.#draining) return;
    const ids = [...this.#live.keys()];
    const generation = this.#generation;
    for (const { id, placement } of await this.#o.registry.list()) {
      if (this.#suspended || generation !== this.#generation) return;
      if (!dead.has(placement.node) || rendezvous(id, ids) !== this.#self) continue;
      // A session needs no wake (nothing streams from it), and a claim by the next node that routes
      // to it puts it on its user's edge; a takeover here would put it wherever hashing says.
      if (this.#o.localKinds?.includes(parseActorId(id).kind)) continue;
      const next: Placement = { node: this.#self, worker: 0, epoch: placement.epoch };
      if (!(await this.#o.registry.replace(id, placement, next))) continue;
      this.#cache.set(id, next);
      this.takeovers++;
      // The wake's answer means the new activation has its epoch from the store and serves. All
      // at once, a rejoin's or a failover's thousands queued behind each other and timed out.
      this.#wakes.add(() => this.#o.system.ask(id, { type: "wake" }).then(
        () => this.#o.onTakenOver?.(id, this.#o.clock.now() - noticed),
        (err) => this.#o.log(`taken-over ${id} did not wake`, err),
      ));
    }
  }

  #toEdge(to: string, msg: unknown, hops: number): void {
    const node = to.slice("edge:".length);
    if (node === this.#self) this.#o.onEdgeEvent(msg);
    else if (this.#live.has(node)) this.#send(node, [0, to, msg, hops]);
    // An edge on a node without a lease is gone for good (incarnation ids never come back).
    else this.#o.onEdgeGone?.(to, msg);
  }

  #send(node: string, frame: LinkFrame): void {
    const lease = this.#live.get(node);
    if (!lease) {
      if (frame[0] === 1) this.#asks.fail(frame[3], new UnavailableError(`Node ${node} is not live`));
      return;
    }
    this.#o.links.send(node, lease.address, frame);
  }

  /**
   * A peer sent us a message for `id`, so its view places `id` here. If our cache places it on
   * another node, one of the two views is stale (a migration's watch event has not reached one of
   * us yet): ask the registry instead of bouncing the message back on our cached guess. Without
   * this, the wake a migration sends to its target could be forwarded to the node the actor left
   * and be swallowed there by the activation about to be evicted.
   */
  #doubt(id: ActorId): void {
    const cached = this.#cache.get(id);
    if (cached && cached.node !== this.#self && !this.#waiting.has(id)) this.#cache.delete(id);
  }

  #alive(node: string): boolean {
    return node === this.#self || this.#live.has(node);
  }

  #route(id: ActorId, done: (p: Placement | Error) => void): void {
    const unleased = () => new UnavailableError(`Cannot route to ${id}: this node holds no cluster lease (it is rejoining): retry`);
    if (this.#suspended) return done(unleased());
    // A lookup that was pending when the lease was lost answers for a dead incarnation.
    const generation = this.#generation;
    const then = (p: Placement | Error) => done(this.#suspended || generation !== this.#generation ? unleased() : p);
    const cached = this.#cache.get(id);
    if (cached && this.#alive(cached.node) && !this.#waiting.has(id)) return then(cached);
    let queue = this.#waiting.get(id);
    if (queue) return void queue.push(then);
    this.#waiting.set(id, (queue = [then]));
    const settled = (p: Placement | Error) => {
      if (generation === this.#generation) {
        if (!(p instanceof Error)) this.#cache.set(id, p);
        this.#waiting.delete(id);
      }
      for (const fn of queue) fn(p);
    };
    this.#resolve(id).then(settled, settled);
  }

  /**
   * The placement in force, claiming or taking over one when there is none or its node is dead.
   * A claim answers with the placement in force whether or not it stored ours, so one round trip
   * to the registry both looks up and claims: a connect storm activates a session actor per user,
   * and a lookup before each claim doubled the registry's share of admission.
   */
  async #resolve(id: ActorId): Promise<Placement> {
    for (let attempt = 0; attempt < 4; attempt++) {
      const targets = this.#targets();
      const target = targets.includes(this.#self) && this.#o.localKinds?.includes(parseActorId(id).kind) ? this.#self : rendezvous(id, targets)!;
      const cur = await this.#o.registry.claim(id, { node: target, worker: 0, epoch: 0 });
      if (this.#alive(cur.node)) return cur;
      const next: Placement = { node: target, worker: 0, epoch: cur.epoch };
      if (await this.#o.registry.replace(id, cur, next)) {
        // A message got here before the takeover scan: this node moved the actor off the dead node.
        this.takeovers++;
        return next;
      }
    }
    throw new UnavailableError(`Cannot place ${id}: the registry keeps changing`);
  }

  /** The nodes a new placement may go to: the live ones, this one unless it drains (and another is live). */
  #targets(): string[] {
    const others = [...this.#live.keys()].filter((n) => n !== this.#self);
    return this.#draining && others.length > 0 ? others : [...others, this.#self];
  }

}
