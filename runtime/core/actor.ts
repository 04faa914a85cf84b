import type { Store } from "../../storage/store.ts";
import type { ActorId } from "./actor_id.ts";
import type { Clock } from "./clock.ts";

/**
 * A virtual actor. The runtime guarantees:
 * - `receive` is never called concurrently with itself, `activate` or `passivate` for one actor:
 *   one batch at a time, in mailbox (arrival) order. Ordering needs no locks because of this alone.
 * - A batch holds every message that arrived while the previous batch was being processed, so an
 *   actor that awaits a durable write inside `receive` gets group commit for free.
 * - If `activate` or `receive` throws, every unanswered message of the batch fails with
 *   `unavailable` and the actor is rebuilt from storage by a fresh `activate`.
 */
export interface Actor {
  /** Loads state from storage; the activation's epoch is already acquired (fencing older ones). */
  activate(): Promise<void>;
  receive(batch: readonly Envelope[]): void | Promise<void>;
  /** Persists what must survive before the actor is dropped from memory. */
  passivate(): Promise<void>;
  /** True when nothing but storage depends on this activation (no subscribers, no live sockets). */
  canPassivate(): boolean;
  inspect(): Record<string, unknown>;
  /**
   * Volatile routing state that stays true across a crash in this thread (who is subscribed from
   * which edge), handed to the restarted activation as `ActorContext.carried`. Never durable state:
   * that is always rebuilt from storage.
   */
  carryOver?(): unknown;
}

/** One message in a mailbox. `reply`/`fail` answer an ask; for a tell they do nothing. */
export interface Envelope<M = unknown> {
  readonly msg: M;
  readonly replied: boolean;
  reply(value: unknown): void;
  fail(err: unknown): void;
}

/** What an actor may use: its identity, its fencing epoch, storage, time, and a way to send. */
export interface ActorContext {
  readonly self: ActorId;
  readonly epoch: number;
  /** This is the actor's first epoch (never activated, or erased since): nothing of it is stored to read. */
  readonly first: boolean;
  readonly nodeId: string;
  readonly store: Store;
  readonly clock: Clock;
  /** What the crashed previous activation in this thread handed over (see `Actor.carryOver`). */
  readonly carried: unknown;
  /** Fire-and-forget send to an actor id or an edge (`edge:<nodeId>`); batched per hop. */
  tell(to: string, msg: unknown): void;
}

export type ActorFactory = (ctx: ActorContext) => Actor;

/**
 * Lets an actor kind turn away messages to an actor that does not exist without activating it: no
 * epoch is acquired and nothing is written, so a flood of requests for made-up ids costs one read
 * each and leaves nothing behind. Messages up to the first one that `creates` the actor are failed
 * with `missing`; the rest (that creating message and what follows it) activate it as usual.
 */
export interface ActivationGate {
  /** True when `msg` may bring the actor into existence (it is processed by an activation). */
  creates(msg: unknown): boolean;
  /** True when the actor has durable state; a read, never a write. */
  exists(store: Store, id: ActorId): Promise<boolean>;
  /** The failure of a message to an actor that does not exist. */
  missing(id: ActorId): Error;
}
