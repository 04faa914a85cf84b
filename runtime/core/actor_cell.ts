import type { EpochGrant } from "../../storage/store.ts";
import type { Actor, ActorContext, ActorFactory, Envelope } from "./actor.ts";
import type { ActorId } from "./actor_id.ts";
import { ActorRestartedError, FencedError, UnavailableError } from "./errors.ts";

/** Why an activation ended: idle, fenced by a newer one, crashed, or moved to another node. */
export type StopReason = "passivated" | "fenced" | "failed" | "moved";

export type CellState = "idle" | "activating" | "active" | "passivating" | "stopped";

export interface CellHooks {
  /** Obtains a fresh epoch for an activation (fencing every earlier one). */
  acquireEpoch(id: ActorId): Promise<EpochGrant>;
  /**
   * Before an activation: fails, in place, the queued messages that need an actor which does not
   * exist (see `ActivationGate`). Reads only.
   */
  admit(id: ActorId, queue: Envelope[]): Promise<void>;
  /** Every queued message was turned away and nothing is active: the cell may be dropped. */
  onUnneeded(id: ActorId): void;
  makeContext(id: ActorId, grant: EpochGrant, carried: unknown): ActorContext;
  onActivated(id: ActorId, epoch: number): void;
  onStopped(id: ActorId, epoch: number, reason: StopReason): void;
  onCrash(id: ActorId, err: unknown): void;
}

/**
 * The mailbox and life cycle of one actor in one thread. Messages are processed in arrival order,
 * one batch at a time; everything that arrives during a batch forms the next batch.
 */
export class ActorCell {
  state: CellState = "idle";
  epoch = 0;
  lastActivity = 0;
  processed = 0;
  restarts = 0;
  #queue: Envelope[] = [];
  #actor: Actor | undefined;
  #running = false;
  #carried: unknown;

  constructor(
    readonly id: ActorId,
    private readonly factory: ActorFactory,
    private readonly hooks: CellHooks,
    private readonly now: () => number,
  ) {}

  get depth(): number {
    return this.#queue.length;
  }

  get actor(): Actor | undefined {
    return this.#actor;
  }

  enqueue(env: Envelope): void {
    if (this.state === "stopped") {
      env.fail(new UnavailableError(`Actor ${this.id} is stopped on this thread`));
      return;
    }
    this.#queue.push(env);
    this.lastActivity = this.now();
    if (!this.#running) void this.#run();
  }

  isIdleSince(cutoff: number): boolean {
    return (
      this.state === "active" && !this.#running && this.#queue.length === 0 && this.lastActivity < cutoff &&
      this.#actor !== undefined && this.#actor.canPassivate()
    );
  }

  /** Persists and drops the actor; messages that arrive meanwhile reactivate it afterwards. */
  async passivate(): Promise<void> {
    if (this.state !== "active" || this.#running || !this.#actor) return;
    this.#running = true;
    this.state = "passivating";
    try {
      await this.#actor.passivate();
    } catch (err) {
      this.hooks.onCrash(this.id, err);
    }
    this.#actor = undefined;
    this.state = "idle";
    this.#running = false;
    this.hooks.onStopped(this.id, this.epoch, "passivated");
    if (this.#queue.length > 0) void this.#run();
  }

  /** Stops for good in this thread (node shutdown or fencing); queued messages fail retryably. */
  stop(reason: Exclude<StopReason, "passivated">): void {
    this.state = "stopped";
    this.#actor = undefined;
    for (const env of this.#queue.splice(0)) env.fail(new UnavailableError(`Actor ${this.id} stopped (${reason})`));
    this.hooks.onStopped(this.id, this.epoch, reason);
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0 && this.state !== "stopped") {
        if (!this.#actor && !(await this.#activate())) {
          if (this.#queue.length === 0 && !this.#actor && this.state === "idle") this.hooks.onUnneeded(this.id);
          return;
        }
        const batch = this.#queue.splice(0);
        try {
          await this.#actor!.receive(batch);
          this.processed += batch.length;
        } catch (err) {
          this.#crashed(batch, err);
        }
      }
    } finally {
      this.#running = false;
    }
  }

  async #activate(): Promise<boolean> {
    this.state = "activating";
    try {
      // A crashed activation's successor is not gated: its actor existed a moment ago.
      if (this.#carried === undefined) await this.hooks.admit(this.id, this.#queue);
      if (this.#queue.length === 0) {
        this.state = "idle";
        return false;
      }
      const grant = await this.hooks.acquireEpoch(this.id);
      const epoch = grant.epoch;
      const actor = this.factory(this.hooks.makeContext(this.id, grant, this.#carried));
      this.#carried = undefined;
      await actor.activate();
      this.epoch = epoch;
      this.#actor = actor;
      this.state = "active";
      this.hooks.onActivated(this.id, epoch);
      return true;
    } catch (err) {
      this.hooks.onCrash(this.id, err);
      const failed = this.#queue.splice(0);
      for (const env of failed) env.fail(new UnavailableError(`Actor ${this.id} could not activate`, { cause: err }));
      this.state = "idle";
      return false;
    }
  }

  #crashed(batch: readonly Envelope[], err: unknown): void {
    for (const env of batch) {
      if (!env.replied) env.fail(err instanceof FencedError ? err : new ActorRestartedError(`Actor ${this.id} restarted`, { cause: err }));
    }
    try {
      this.#carried = this.#actor?.carryOver?.();
    } catch {
      this.#carried = undefined;
    }
    this.#actor = undefined;
    if (err instanceof FencedError) {
      this.stop("fenced");
      return;
    }
    this.restarts++;
    this.state = "idle";
    this.hooks.onCrash(this.id, err);
  }
}
