import { parseActorId } from "../runtime/core/actor_id.ts";
import type { Actor, ActorContext, Envelope } from "../runtime/core/actor.ts";
import { FencedError, RejectedError, UnavailableError } from "../runtime/core/errors.ts";
import type { UnreadCount } from "../storage/store.ts";
import type { SessionMsg, SessionView, SyncView, UserEvent } from "./messages.ts";
import { EMPTY_QUEUE, type SyncQueueLimits, type SyncQueueState, syncQueue } from "./sync_queue.ts";

/** Read markers kept per user: each is in every snapshot of the session, so their number is bounded. */
export const MAX_READ_MARKERS = 1_000;

interface SessionState {
  channels: string[];
  reads: Record<string, number>;
  /** Per channel, the seqs of messages naming the user after the read marker (the newest `MAX_MENTIONS`). */
  mentions?: Record<string, number[]>;
  /** The user's `/api/sync` queue; absent until the first event (most sessions never have one). */
  sync?: SyncQueueState;
}

/** Channels a user may belong to (and hold read markers for): the session's state stays bounded. */
export const MAX_CHANNELS = 2_000;
/** Unread counts stop here: a badge says "999+", it does not need the exact number. */
export const UNREAD_CAP = 1_000;
/** Mentions remembered per channel. */
const MAX_MENTIONS = 100;

/** Seed 004's bounds: 1,000 events, 5 minutes. */
export const DEFAULT_SYNC_LIMITS: SyncQueueLimits = { maxEvents: 1_000, maxAgeMs: 5 * 60_000 };

/**
 * The state of a user with no channel and no read marker, shared by all such sessions (most idle
 * connections): state is replaced on every change, never mutated, and frozen so it cannot be.
 */
const EMPTY_STATE: SessionState = Object.freeze({ channels: Object.freeze([]) as unknown as string[], reads: Object.freeze({}) });

/**
 * One user across all their tabs and devices: the channels they belong to, their read markers and
 * mentions, and which edges hold their connections, so that an event for the user (a read marker
 * moved on one device, a new direct message, a mention, an invitation) reaches every connection,
 * whatever it subscribed to. Read markers only move forward, and only on the user's channels.
 * Unread counts are read from the journal when a view is asked for (connect, `get`): the session
 * is not told of every message of every channel.
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
    // A new user's session: no snapshot can exist, and a connect storm of new users saves a read each.
    if (this.#ctx.first) return;
    const snap = await this.#ctx.store.loadSnapshot(this.#ctx.self);
    if (snap) this.#state = snap.state as SessionState;
  }

  async receive(batch: readonly Envelope[]): Promise<void> {
    const events: UserEvent[] = [];
    const results = batch.map((env) => this.#apply(env.msg as SessionMsg, events));
    // Answer only once the changes are durable, like every other acknowledgement in Storm.
    if (this.#dirty) await this.#save();
    const wantsView = results.some((r) => r === VIEW);
    let counts: UnreadCount[] | Error | undefined;
    if (wantsView) counts = await this.#unread().catch((err: unknown) => new UnavailableError(`Cannot count unread messages of ${this.#user}`, { cause: err }));
    batch.forEach((env, i) => {
      const r = results[i];
      if (r instanceof Error) env.fail(r);
      else if (r !== VIEW) env.reply(r);
      else if (counts instanceof Error) env.fail(counts);
      else env.reply(this.#view(counts ?? []));
    });
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
        return VIEW;
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
        // The channel checked membership and clamped `seq` before this (see `mark_read`).
        if ((this.#state.reads[msg.ch] ?? 0) >= msg.seq) return false;
        if (!(msg.ch in this.#state.reads) && Object.keys(this.#state.reads).length >= MAX_READ_MARKERS) {
          return new RejectedError("too_large", `Cannot keep more than ${MAX_READ_MARKERS} read markers per user`);
        }
        const mentions = this.#state.mentions?.[msg.ch]?.filter((s) => s > msg.seq);
        this.#state = { ...this.#state, reads: { ...this.#state.reads, [msg.ch]: msg.seq }, ...withMentions(this.#state, msg.ch, mentions) };
        this.#dirty = true;
        events.push({ t: "read", ch: msg.ch, seq: msg.seq });
        this.#enqueue({ type: "user.read", payload: { ch: msg.ch, seq: msg.seq }, timestamp: this.#ctx.clock.now(), userId: this.#user });
        return true;
      }
      case "joined": {
        if (this.#state.channels.includes(msg.ch)) return true;
        if (this.#state.channels.length >= MAX_CHANNELS) return new RejectedError("too_large", `${this.#user} belongs to ${MAX_CHANNELS} channels already`);
        this.#state = { ...this.#state, channels: [...this.#state.channels, msg.ch].sort() };
        this.#dirty = true;
        events.push(msg.by !== undefined ? { t: "invited", ch: msg.ch, by: msg.by } : { t: "joined", ch: msg.ch });
        this.#enqueue({ type: "user.joined", payload: { ch: msg.ch }, timestamp: this.#ctx.clock.now(), userId: this.#user });
        return true;
      }
      case "left": {
        if (!this.#state.channels.includes(msg.ch)) return true;
        const reads = { ...this.#state.reads };
        delete reads[msg.ch];
        this.#state = { ...this.#state, channels: this.#state.channels.filter((c) => c !== msg.ch), reads, ...withMentions(this.#state, msg.ch, undefined) };
        this.#dirty = true;
        events.push(msg.reason ? { t: "left", ch: msg.ch, reason: msg.reason } : { t: "left", ch: msg.ch });
        this.#enqueue({ type: "user.left", payload: { ch: msg.ch }, timestamp: this.#ctx.clock.now(), userId: this.#user });
        return true;
      }
      case "notify": {
        // Never about a channel the user is not in (a late notice after a kick, say).
        if (!this.#state.channels.includes(msg.ch) || msg.seq <= (this.#state.reads[msg.ch] ?? 0)) return true;
        if (msg.ev === "mention") {
          const seqs = [...(this.#state.mentions?.[msg.ch] ?? []), msg.seq].slice(-MAX_MENTIONS);
          this.#state = { ...this.#state, ...withMentions(this.#state, msg.ch, seqs) };
          this.#dirty = true;
        }
        events.push({ t: msg.ev, ch: msg.ch, seq: msg.seq, from: msg.from });
        return true;
      }
      case "get":
        return VIEW;
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
        const mentions = this.#state.mentions && Object.fromEntries(Object.entries(this.#state.mentions).filter(([ch]) => !gone.has(ch)));
        // A name is [A-Za-z0-9_.-]: bounded by anything else, it is that user (`dm:bob:zelda` included).
        const names = new RegExp(`(^|[^A-Za-z0-9_.-])${msg.user.replace(/[.]/g, "\\.")}([^A-Za-z0-9_.-]|$)`);
        const sync = this.#state.sync && { ...this.#state.sync, items: this.#state.sync.items.filter((i) => !names.test(JSON.stringify(i))) };
        for (const ch of this.#state.channels) if (gone.has(ch)) events.push({ t: "left", ch });
        this.#state = { ...this.#state, channels, reads, ...(mentions ? { mentions } : {}), ...(sync ? { sync } : {}) };
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

  /** Last seqs and unread counts of the user's channels, from the journal (one statement). */
  #unread(): Promise<UnreadCount[]> {
    const { channels, reads } = this.#state;
    if (channels.length === 0) return Promise.resolve([]);
    return this.#ctx.store.unread(this.#user, channels.map((ch) => ({ actorId: `channel:${ch}`, after: reads[ch] ?? 0 })), UNREAD_CAP);
  }

  #view(counts: readonly UnreadCount[]): SessionView {
    const unread: Record<string, number> = {};
    const lasts: Record<string, number> = {};
    for (const c of counts) {
      const ch = c.actorId.slice("channel:".length);
      lasts[ch] = c.last;
      if (c.unread > 0) unread[ch] = c.unread;
    }
    const mentions: Record<string, number> = {};
    for (const [ch, seqs] of Object.entries(this.#state.mentions ?? {})) if (seqs.length > 0) mentions[ch] = seqs.length;
    const connections = Object.values(this.#edges).reduce((a, b) => a + b, 0);
    return { user: this.#user, channels: this.#state.channels, reads: this.#state.reads, unread, mentions, lasts, connections };
  }

  /** Adds an event to the sync queue; the batch's snapshot makes it durable before any reply. */
  #enqueue(item: Parameters<typeof syncQueue.push>[1]) {
    const [sync, added] = syncQueue.push(this.#state.sync ?? EMPTY_QUEUE, item, this.#ctx.clock.now(), this.syncLimits);
    this.#state = { ...this.#state, sync };
    this.#dirty = true;
    return added;
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

/** Answered with the session's view once the batch's changes are saved and unread counts read. */
const VIEW = Symbol("view");

/** The `mentions` part of a state with `ch`'s seqs replaced (none: dropped). */
function withMentions(s: SessionState, ch: string, seqs: number[] | undefined): Pick<SessionState, "mentions"> {
  const mentions = { ...s.mentions };
  if (seqs && seqs.length > 0) mentions[ch] = seqs;
  else delete mentions[ch];
  return { mentions };
}
