import type { EpochGrant, Store } from "../../storage/store.ts";
import type { ActivationGate, ActorContext, ActorFactory, Envelope } from "./actor.ts";
import { type ActorId, parseActorId } from "./actor_id.ts";
import { ActorCell, type CellHooks, type StopReason } from "./actor_cell.ts";
import type { Clock, Timer } from "./clock.ts";
import { RejectedError } from "./errors.ts";

export interface ActorHostOptions {
  nodeId: string;
  store: Store;
  clock: Clock;
  factories: Readonly<Record<string, ActorFactory>>;
  /** Kinds whose actors must exist before most messages may activate them (e.g. channels). */
  gates?: Readonly<Record<string, ActivationGate>>;
  /** Sends to anything outside this host (other actors, edges); the caller batches per hop. */
  send(to: string, msg: unknown): void;
  /** Life-cycle notices for the registry and the inspector. */
  onLifecycle?(event: LifecycleEvent): void;
  idlePassivateMs?: number;
  log?(msg: string, err?: unknown): void;
}

export type LifecycleEvent =
  | { type: "activated"; id: ActorId; epoch: number }
  | { type: "stopped"; id: ActorId; epoch: number; reason: StopReason };

export interface ActorSummary {
  id: ActorId;
  state: string;
  epoch: number;
  depth: number;
  processed: number;
  restarts: number;
  idleMs: number;
  detail: Record<string, unknown>;
}

/**
 * Hosts the activations of one thread. Actors are virtual: the first message to an id activates
 * it (acquiring a fresh epoch from the store), idle ones are passivated, crashed ones rebuilt.
 */
export class ActorHost {
  readonly #cells = new Map<ActorId, ActorCell>();
  readonly #opts: ActorHostOptions;
  /** One set of hooks for every cell of this host: a thread may hold 100,000 idle sessions. */
  readonly #cellHooks: CellHooks;
  readonly #now: () => number;
  #sweeper: Timer | undefined;

  constructor(opts: ActorHostOptions) {
    this.#opts = opts;
    this.#cellHooks = this.#hooks();
    this.#now = () => opts.clock.now();
    const idle = opts.idlePassivateMs ?? 60_000;
    if (idle > 0) this.#sweeper = opts.clock.setInterval(() => void this.passivateIdle(idle), Math.max(50, idle / 4));
  }

  get size(): number {
    return this.#cells.size;
  }

  /** Puts a message in the actor's mailbox, activating the actor if needed. */
  deliver(to: ActorId, env: Envelope): void {
    let cell = this.#cells.get(to);
    if (!cell) {
      const kind = parseActorId(to).kind;
      const factory = this.#opts.factories[kind];
      if (!factory) {
        env.fail(new RejectedError("not_found", `Cannot route to "${to}": unknown actor kind "${kind}"`));
        return;
      }
      cell = new ActorCell(to, factory, this.#cellHooks, this.#now);
      this.#cells.set(to, cell);
    }
    cell.enqueue(env);
  }

  async passivateIdle(idleMs: number): Promise<number> {
    const cutoff = this.#opts.clock.now() - idleMs;
    const idle = [...this.#cells.values()].filter((c) => c.isIdleSince(cutoff));
    await Promise.all(idle.map((c) => c.passivate()));
    return idle.length;
  }

  /** Passivates one actor now (planned migration); resolves once its state is persisted. */
  async passivate(id: ActorId): Promise<boolean> {
    const cell = this.#cells.get(id);
    if (!cell || cell.state !== "active") return false;
    await cell.passivate();
    return true;
  }

  /** Drops an activation at once (its actor now lives on another node); queued messages fail retryably. */
  evict(id: ActorId): void {
    this.#cells.get(id)?.stop("moved");
  }

  list(): ActorSummary[] {
    const now = this.#opts.clock.now();
    return [...this.#cells.values()].map((c) => ({
      id: c.id,
      state: c.state,
      epoch: c.epoch,
      depth: c.depth,
      processed: c.processed,
      restarts: c.restarts,
      idleMs: now - c.lastActivity,
      detail: c.actor?.inspect() ?? {},
    }));
  }

  /** Stops every actor (node shutdown or lost lease): nothing here may write after this. */
  stopAll(): void {
    this.#sweeper?.cancel();
    for (const cell of this.#cells.values()) cell.stop("failed");
    this.#cells.clear();
  }

  #hooks(): CellHooks {
    const o = this.#opts;
    const shared: ContextShared = { nodeId: o.nodeId, store: o.store, clock: o.clock, send: o.send, deliver: (id, env) => this.deliver(id, env) };
    return {
      acquireEpoch: (id: ActorId) => o.store.acquireEpochGrant(id, o.nodeId),
      admit: async (id: ActorId, queue: Envelope[]) => {
        const gate = o.gates?.[parseActorId(id).kind];
        if (!gate || queue.length === 0 || gate.creates(queue[0]!.msg) || (await gate.exists(o.store, id))) return;
        const upTo = queue.findIndex((env) => gate.creates(env.msg));
        const err = gate.missing(id);
        for (const env of queue.splice(0, upTo < 0 ? queue.length : upTo)) env.fail(err);
      },
      onUnneeded: (id: ActorId) => {
        const cell = this.#cells.get(id);
        if (cell && cell.depth === 0 && !cell.actor) this.#cells.delete(id);
      },
      makeContext: (id: ActorId, grant: EpochGrant, carried: unknown): ActorContext => new CellContext(id, grant.epoch, grant.first, carried, shared),
      onActivated: (id: ActorId, epoch: number) => o.onLifecycle?.({ type: "activated", id, epoch }),
      onStopped: (id: ActorId, epoch: number, reason: StopReason) => {
        const cell = this.#cells.get(id);
        if (cell && reason !== "passivated") this.#cells.delete(id);
        if (cell && reason === "passivated" && cell.depth === 0) this.#cells.delete(id);
        o.onLifecycle?.({ type: "stopped", id, epoch, reason });
      },
      onCrash: (id: ActorId, err: unknown) => o.log?.(`actor ${id} crashed`, err),
    };
  }
}

interface ContextShared {
  nodeId: string;
  store: Store;
  clock: Clock;
  send(to: string, msg: unknown): void;
  deliver(id: ActorId, env: Envelope): void;
}

/**
 * An activation's context. A class over one object shared by the host, not a literal with its own
 * `tell` closure: every connected user has a session activation, and per-activation closures add up.
 */
class CellContext implements ActorContext {
  constructor(
    readonly self: ActorId,
    readonly epoch: number,
    readonly first: boolean,
    readonly carried: unknown,
    private readonly shared: ContextShared,
  ) {}

  get nodeId(): string {
    return this.shared.nodeId;
  }

  get store(): Store {
    return this.shared.store;
  }

  get clock(): Clock {
    return this.shared.clock;
  }

  // A self-addressed message (a timer's tick) stays with this very activation: routed out, it
  // would reach wherever the registry places the actor now, possibly another node.
  tell(to: string, msg: unknown): void {
    if (to === this.self) this.shared.deliver(to, tellEnvelope(msg));
    else this.shared.send(to, msg);
  }
}

/** The envelope of a tell: nobody waits for an answer. */
export function tellEnvelope(msg: unknown): Envelope {
  return { msg, replied: true, reply() {}, fail() {} };
}
