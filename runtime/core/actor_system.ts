import type { LifecycleEvent } from "./actor_host.ts";
import { type ActorId, parseActorId } from "./actor_id.ts";
import type { Clock, Timer } from "./clock.ts";
import { UnavailableError } from "./errors.ts";
import { PendingAsks } from "./pending_asks.ts";
import { Outbox } from "./outbox.ts";
import type { PlacementStrategy } from "./placement.ts";
import type { Platform, WorkerHandle } from "./platform.ts";
import type { Placement, Registry } from "./registry.ts";
import { type Batch, Op, plainCodec, type WireCodec } from "./wire.ts";

export interface ActorSystemOptions {
  nodeId: string;
  platform: Platform;
  clock: Clock;
  workers: number;
  /** URL (href) of the worker entry module. */
  workerEntry: string;
  /** Per-worker start data (store config, extra ports to transfer). */
  workerData(index: number): { data: unknown; transfer: unknown[] };
  placement: PlacementStrategy;
  registry: Registry;
  askTimeoutMs: number;
  /** Receives everything actors send to `edge:<this node>`, in the order the actors sent it. */
  onEdgeEvent(msg: unknown): void;
  /**
   * Where actors' outbound messages go. Default: this node (single-node mode). Cluster mode routes
   * them through the cluster router, which knows which node hosts each actor.
   */
  outbound?(to: string, msg: unknown): void;
  log(msg: string, err?: unknown): void;
  /** The compact form of hot messages and replies across the thread hop; the workers must use the same. */
  codec?: WireCodec;
  /**
   * Kinds whose placement records each activation's epoch (default: every kind). A watcher that
   * reacts to a new activation needs it (an edge resubscribes a channel's streams when its epoch
   * rises); for other kinds the write is pure cost: an activation of one of them writes nothing to
   * the registry (in a cluster the router's claim placed it), and a passivation gives back the
   * placement if it still names this node. A connect storm activates a session per user, and the
   * record was two registry round trips and an update event to every node per connect.
   */
  epochKinds?: readonly string[];
}

/**
 * The node's actor system, seen from the main thread: it places actors on worker threads, batches
 * frames per worker per loop turn, matches replies to asks, and restarts a worker that dies.
 *
 * Ordering: messages from this thread to one actor arrive in the order they were sent (one port per
 * worker, batches in order). Replies and edge events from one actor arrive in the order it sent them.
 */
export class ActorSystem {
  readonly #o: ActorSystemOptions;
  readonly #workers: Array<{ handle: WorkerHandle; out: Outbox } | undefined> = [];
  readonly #asks = new PendingAsks<number>();
  /** Actors with an activation on this node (from life-cycle notices). */
  readonly #active = new Set<ActorId>();
  #sweeper: Timer | undefined;
  #stopping = false;
  /** Set by `halt`: no worker runs until `resume`. */
  #halted = false;
  /** This incarnation's id: changes when a cluster node rejoins after losing its lease. */
  #nodeId: string;
  edgeId: string;
  readonly #codec: WireCodec;
  /** Activations started on this node's workers (`storm_activations_total`). */
  activations = 0;

  constructor(opts: ActorSystemOptions) {
    this.#o = opts;
    this.#codec = opts.codec ?? plainCodec;
    this.#nodeId = opts.nodeId;
    this.edgeId = `edge:${opts.nodeId}`;
  }

  get nodeId(): string {
    return this.#nodeId;
  }

  get workerCount(): number {
    return this.#o.workers;
  }

  start(): void {
    for (let i = 0; i < this.#o.workers; i++) this.#spawn(i);
    this.#sweeper = this.#o.clock.setInterval(() => this.#asks.expire(this.#o.clock.now()), 50);
  }

  workerOf(id: ActorId): number {
    return this.#o.placement.place(id, this.#o.workers);
  }

  tell(to: ActorId, msg: unknown): void {
    if (to === this.edgeId) return this.#o.onEdgeEvent(msg);
    const w = this.#worker(this.workerOf(to));
    w?.out.send(Op.Tell, to, msg);
  }

  ask<T>(to: ActorId, msg: unknown, timeoutMs = this.#o.askTimeoutMs): Promise<T> {
    const index = this.workerOf(to);
    const w = this.#worker(index);
    if (!w) return Promise.reject(new UnavailableError(this.#halted ? "Node holds no cluster lease: retry" : `Worker ${index} is restarting`));
    return new Promise<T>((resolve, reject) => {
      const reqId = this.#asks.add(to, index, this.#o.clock.now() + timeoutMs, resolve as (v: unknown) => void, reject);
      w.out.ask(to, msg, reqId);
    });
  }

  /** Drops this node's activation of `id`, if any: its placement moved to another node. */
  evict(id: ActorId): void {
    if (!this.#active.has(id)) return;
    this.#worker(this.workerOf(id))?.out.notice(Op.Evict, id);
  }

  /** Sends a raw control message to a worker's control port (comlink lives there). */
  worker(index: number): WorkerHandle | undefined {
    return this.#workers[index]?.handle;
  }

  /**
   * Drops every activation at once (a cluster node lost its lease: others may own its actors
   * already): asks in flight fail `unavailable`, the workers are terminated, and nothing runs
   * until `resume`. What the activations had not committed is lost to them, never to a client:
   * nothing unacknowledged was promised, and the epochs fence whatever they still tried.
   */
  async halt(): Promise<void> {
    this.#halted = true;
    this.#asks.failWhere(() => true, () => new UnavailableError("Node lost its cluster lease: retry"));
    this.#active.clear();
    const gone = this.#workers.splice(0, this.#workers.length);
    await Promise.all(gone.map((w) => w?.handle.terminate()));
  }

  /** Starts fresh workers under a new incarnation id after `halt`. */
  resume(nodeId: string): void {
    if (!this.#halted || this.#stopping) return;
    this.#halted = false;
    this.#nodeId = nodeId;
    this.edgeId = `edge:${nodeId}`;
    for (let i = 0; i < this.#o.workers; i++) this.#spawn(i);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#sweeper?.cancel();
    this.#asks.failWhere(() => true, () => new UnavailableError("Node is shutting down"));
    await Promise.all(this.#workers.map((w) => w?.handle.terminate()));
  }

  #worker(index: number) {
    return this.#workers[index];
  }

  #spawn(index: number): void {
    const { data, transfer } = this.#o.workerData(index);
    const handle = this.#o.platform.spawnWorker(this.#o.workerEntry, data, transfer);
    this.#workers[index] = { handle, out: new Outbox(handle, this.#o.platform.defer, this.#codec) };
    // A halted worker's last frames (activations, outbound messages) belong to a dead incarnation.
    handle.on("message", (value) => {
      if (this.#workers[index]?.handle === handle) this.#onFrames(index, value as Batch);
    });
    handle.on("error", (err) => this.#o.log(`worker ${index} failed`, err));
    handle.on("exit", (code) => this.#onExit(index, handle, code));
  }

  #onFrames(worker: number, b: Batch): void {
    const codec = this.#codec;
    for (let i = 0; i < b.length;) {
      const op = b[i] as Op;
      switch (op & ~Op.Coded) {
        case Op.Reply:
          this.#asks.settle(b[i + 1] as number, true, op & Op.Coded ? codec.decode(b[i + 2]) : b[i + 2]);
          i += 3;
          break;
        case Op.Fail:
          this.#asks.settle(b[i + 1] as number, false, b[i + 2]);
          i += 3;
          break;
        case Op.Out: {
          const to = b[i + 1] as string;
          const msg = op & Op.Coded ? codec.decode(b[i + 2]) : b[i + 2];
          if (this.#o.outbound) this.#o.outbound(to, msg);
          else this.tell(to, msg);
          i += 3;
          break;
        }
        case Op.Life: {
          const ev = b[i + 1] as LifecycleEvent;
          if (ev.type === "activated") {
            this.#active.add(ev.id);
            this.activations++;
          } else this.#active.delete(ev.id);
          void this.#recordPlacement(worker, ev, this.#nodeId).catch((err) => this.#o.log("registry update failed", err));
          i += 2;
          break;
        }
        default:
          throw new Error(`Cannot read a batch from worker ${worker}: op ${op} at ${i}`);
      }
    }
  }

  async #recordPlacement(worker: number, ev: LifecycleEvent, self: string): Promise<void> {
    const reg = this.#o.registry;
    if (!(this.#o.epochKinds?.includes(parseActorId(ev.id).kind) ?? true)) {
      if (ev.type === "activated" || ev.reason !== "passivated") return;
      // Its placement carries no epoch to compare: one naming this node is this activation's.
      const current = await reg.lookup(ev.id);
      if (current && current.node === this.#o.nodeId) await reg.release(ev.id, current);
      return;
    }
    const current = await reg.lookup(ev.id);
    if (ev.type === "activated") {
      const next: Placement = { node: self, worker, epoch: ev.epoch };
      if (!current) await reg.claim(ev.id, next);
      // Record the epoch only where this node is the placed owner: a placement moved elsewhere
      // meanwhile (migration, takeover) must not be taken back; the store fences this activation.
      else if (current.node === self && current.epoch < ev.epoch) await reg.replace(ev.id, current, next);
    } else if (ev.reason === "passivated" && current && current.node === self && current.epoch === ev.epoch) {
      // Only an idle activation that still is the placed one gives its placement back; a fenced,
      // moved or crashed one must not delete a placement that a migration or takeover just wrote.
      await reg.release(ev.id, current);
    }
  }

  #onExit(index: number, handle: WorkerHandle, code: number): void {
    if (this.#workers[index]?.handle !== handle) return;
    this.#workers[index] = undefined;
    this.#asks.failWhere((w) => w === index, (to) => new UnavailableError(`Worker ${index} exited (code ${code}) while ${to} handled the request`));
    if (this.#stopping) return;
    this.#o.log(`worker ${index} exited with code ${code}; restarting it`);
    this.#spawn(index);
  }

}
