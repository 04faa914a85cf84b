import { parseActorId } from "../runtime/core/actor_id.ts";
import type { Actor, ActorContext, Envelope } from "../runtime/core/actor.ts";
import { FencedError } from "../runtime/core/errors.ts";
import type { SessionMsg, SessionView, SyncView, UserEvent } from "./messages.ts";
import { EMPTY_QUEUE, type SyncQueueLimits, type SyncQueueState, syncQueue } from "./sync_queue.ts";

interface SessionState {
  channels: string[];
  reads: Record<string, number>;
  /** The user's `/api/sync` queue; absent until the first event (most sessions never have one). */
  sync?: SyncQueueState;
}

/** Seed 004's bounds: 1,000 events, 5 minutes. */
export const DEFAULT_SYNC_LIMITS: SyncQueueLimits = { maxEvents: 1_000, maxAgeMs: 5 * 60_000 };

/**
 * The state of a user with no channel and no read marker, shared by all such sessions (most idle
 * connections): state is replaced on every change, never mutated, and frozen so it cannot be.
 */
const EMPTY_STATE: SessionState = Object.freeze({ channels: Object.freeze([]) as unknown as string[], reads: Object.freeze({}) });

/**
 * One user across all their tabs and devices: the channels they belong to, their read markers, and
 * which edges hold their connections, so that an event for the user (a read marker moved on one
 * device) reaches every other connection. Read markers only move forward.
 */
export class SessionActor implements Actor {
  readonly #ctx: ActorContext;
  readonly #user: string;
  #state: SessionState = EMPTY_STATE;
  /**
   * Connections per edge. A plain object, not a Map: most sessions have one edge, and an idle
   * connection's session should cost little (a one-entry Map is ~250 bytes, this ~50; the keys,
   * `edge:<node>`, cannot collide with Object.prototype's).
   */
  #edges: Record<string, number> = {};
  #dirty = false;

  constructor(ctx: ActorContext, private readonly syncLimits: SyncQueueLimits = DEFAULT_SYNC_LIMITS) {
    this.#ctx = ctx;
    this.#user = parseActorId(ctx.self).key;
  }

  async activate(): Promise<void> {
    const snap = await this.#ctx.store.loadSnapshot(this.#ctx.self);
    if (snap) this.#state = snap.state as SessionState;
  }

  async receive(batch: readonly Envelope[]): Promise<void> {
    const events: UserEvent[] = [];
    const results = batch.map((env) => this.#apply(env.msg as SessionMsg, events));
    // Answer only once the changes are durable, like every other acknowledgement in Storm.
    if (this.#dirty) await this.#save();
    batch.forEach((env, i) => env.reply(results[i]));
    for (const event of events) this.#broadcast(event);
  }

  async passivate(): Promise<void> {
    if (this.#dirty) await this.#save();
  }

  canPassivate(): boolean {
    return Object.keys(this.#edges).length === 0;
  }

  inspect(): Record<string, unknown> {
    return { channels: this.#state.channels.length, edges: { ...this.#edges } };
  }

  #apply(msg: SessionMsg, events: UserEvent[]): unknown {
    switch (msg.type) {
      case "connect":
        this.#edges[msg.edge] = (this.#edges[msg.edge] ?? 0) + 1;
        return this.#view();
      case "disconnect": {
        const n = (this.#edges[msg.edge] ?? 0) - 1;
        if (n > 0) this.#edges[msg.edge] = n;
        else delete this.#edges[msg.edge];
        return true;
      }
      case "edge_down":
        delete this.#edges[msg.edge];
        return true;
      case "read": {
        if ((this.#state.reads[msg.ch] ?? 0) >= msg.seq) return false;
        this.#state = { ...this.#state, reads: { ...this.#state.reads, [msg.ch]: msg.seq } };
        this.#dirty = true;
        events.push({ t: "read", ch: msg.ch, seq: msg.seq });
        this.#enqueue({ type: "user.read", payload: { ch: msg.ch, seq: msg.seq }, timestamp: this.#ctx.clock.now(), userId: this.#user });
        return true;
      }
      case "joined":
      case "left": {
        const has = this.#state.channels.includes(msg.ch);
        if (has === (msg.type === "joined")) return true;
        const channels = msg.type === "joined"
          ? [...this.#state.channels, msg.ch].sort()
          : this.#state.channels.filter((c) => c !== msg.ch);
        this.#state = { ...this.#state, channels };
        this.#dirty = true;
        events.push({ t: msg.type, ch: msg.ch });
        this.#enqueue({ type: `user.${msg.type}`, payload: { ch: msg.ch }, timestamp: this.#ctx.clock.now(), userId: this.#user });
        return true;
      }
      case "get":
        return this.#view();
      case "erase": {
        const channels = this.#state.channels;
        this.#state = EMPTY_STATE;
        // Nothing to save: the eraser deletes this actor's rows, which fences this activation.
        this.#dirty = false;
        for (const edge of Object.keys(this.#edges)) this.#ctx.tell(edge, { type: "close_user", user: this.#user, code: "account_erased" });
        return { channels };
      }
      case "close":
        for (const edge of Object.keys(this.#edges)) this.#ctx.tell(edge, { type: "close_user", user: this.#user, code: msg.code });
        return { edges: Object.keys(this.#edges).length };
      case "forget": {
        const gone = new Set(msg.channels);
        const reads = Object.fromEntries(Object.entries(this.#state.reads).filter(([ch]) => !gone.has(ch)));
        const channels = this.#state.channels.filter((c) => !gone.has(c));
        // A name is [A-Za-z0-9_.-]: bounded by anything else, it is that user (`dm:bob:zelda` included).
        const names = new RegExp(`(^|[^A-Za-z0-9_.-])${msg.user.replace(/[.]/g, "\\.")}([^A-Za-z0-9_.-]|$)`);
        const sync = this.#state.sync && { ...this.#state.sync, items: this.#state.sync.items.filter((i) => !names.test(JSON.stringify(i))) };
        for (const ch of this.#state.channels) if (gone.has(ch)) events.push({ t: "left", ch });
        this.#state = { ...this.#state, channels, reads, ...(sync ? { sync } : {}) };
        this.#dirty = true;
        return true;
      }
      case "sync_push": {
        // A retried send (same correlation id, still queued) is the same event, not a second one.
        const cid = msg.item.correlationId;
        const known = cid === undefined ? undefined : this.#state.sync?.items.find((i) => i.correlationId === cid && i.userId === msg.item.userId);
        if (known) return known;
        const item = this.#enqueue(msg.item);
        events.push({ t: "sync", ...item });
        return item;
      }
      case "sync_read": {
        const q = syncQueue.expire(this.#state.sync ?? EMPTY_QUEUE, this.#ctx.clock.now(), this.syncLimits);
        const read = msg.since !== undefined ? syncQueue.since(q, msg.since) : syncQueue.afterPosition(q, msg.after ?? 0);
        return { ...read, channels: this.#state.channels, retained: q.items.length } satisfies SyncView;
      }
      case "wake":
        return true;
    }
  }

  /** Adds an event to the sync queue; the batch's snapshot makes it durable before any reply. */
  #enqueue(item: Parameters<typeof syncQueue.push>[1]) {
    const [sync, added] = syncQueue.push(this.#state.sync ?? EMPTY_QUEUE, item, this.#ctx.clock.now(), this.syncLimits);
    this.#state = { ...this.#state, sync };
    this.#dirty = true;
    return added;
  }

  #view(): SessionView {
    return { user: this.#user, channels: this.#state.channels, reads: this.#state.reads, connections: Object.values(this.#edges).reduce((a, b) => a + b, 0) };
  }

  async #save(): Promise<void> {
    const ok = await this.#ctx.store.saveSnapshot(this.#ctx.self, this.#ctx.epoch, { seq: 0, state: this.#state });
    if (!ok) throw new FencedError(`Session ${this.#user}: snapshot fenced at epoch ${this.#ctx.epoch}`);
    this.#dirty = false;
  }

  #broadcast(event: UserEvent): void {
    for (const edge of Object.keys(this.#edges)) this.#ctx.tell(edge, { type: "user", user: this.#user, event });
  }
}
