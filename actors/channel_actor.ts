import { parseActorId } from "../runtime/core/actor_id.ts";
import type { Actor, ActorContext, Envelope } from "../runtime/core/actor.ts";
import { FencedError, RejectedError, StormError, UnavailableError } from "../runtime/core/errors.ts";
import type { AppendOutcome, JournalEntry, SnapshotEvent } from "../storage/store.ts";
import { ageCheckMs, KEEP_ALL, overCount, type RetentionPolicy, TRIM_INTERVAL_MS, trimRule } from "./retention.ts";
import type { Timer } from "../runtime/core/clock.ts";
import { access, type ChannelState, channelInfo, emptyChannel } from "./channel_state.ts";
import { changeEntry, changeRef, isChange, type ChangeMsg } from "./change_rules.ts";
import { ChannelReader } from "./channel_reader.ts";
import type { ChannelMsg, EdgeEvent, PublishAck, SessionMsg } from "./messages.ts";
import { messageState, notices } from "./message_view.ts";
import { isModeration, moderate } from "./moderation.ts";
import { Presence } from "./presence.ts";
import { RecentHistory } from "./recent_history.ts";
import { EdgeFlow } from "./edge_flow.ts";
import { dedupeWithinBatch, entriesOf, type Write } from "./write_batch.ts";

export interface ChannelActorOptions {
  /** Committed messages kept in memory for resume and history. */
  historySize: number;
  /** Client ids remembered in memory for duplicate detection (older ones are found in the store). */
  dedupeWindow: number;
  /** The server-wide retention policy; a channel's own (set by its owner or an admin) replaces it. */
  retention: RetentionPolicy;
  /** Entries younger than this are never trimmed: the exactly-once horizon across failovers (G3). */
  dedupeHorizonMs: number;
}

/** A batch outstanding at an edge for longer than this holds new work (bounded delivery lag). */
const FLOW_MAX_LAG_MS = 250;
/** An edge behind for longer than this is dropped from the fan-out; its sockets resume. */
const FLOW_DROP_AFTER_MS = 3_000;
/** Messages held at most; past it, publishes get `rate_limited`. */
const MAX_HELD = 20_000;

export const defaultChannelOptions: ChannelActorOptions = { historySize: 2_000, dedupeWindow: 20_000, retention: KEEP_ALL, dedupeHorizonMs: 60_000 };

/**
 * One channel. The single writer of its journal: it gives each accepted publish the next seq (G1),
 * acknowledges and fans it out only after the store committed it (G2), answers a retried client id
 * with its first seq (G3), and serves resume from memory or the store (G4). Every write carries the
 * activation's epoch, so a fenced activation commits nothing (G5).
 *
 * Publishes of one mailbox batch are committed together in one append (group commit); a message
 * that changes metadata first commits the publishes before it, so the batch keeps mailbox order.
 * Edits, deletes, reactions and thread replies are journal entries too (a kind and the seq they
 * refer to), each checked against the current state of the message it changes, then committed
 * like a publish: they get seqs, acks and fan-out under the same rules (G1-G4).
 */
export class ChannelActor implements Actor {
  readonly #ctx: ActorContext;
  readonly #opts: ChannelActorOptions;
  readonly #name: string;
  #state: ChannelState;
  #last = 0;
  /** The first seq the journal holds (or `#last + 1` when it holds none): retention trims below it. */
  #first = 1;
  #nextTrimAt = 0;
  #ageTimer: Timer | undefined;
  #history: RecentHistory;
  #reader: ChannelReader;
  /** Edges with at least one subscribed socket: each gets every committed batch once. */
  readonly #edges = new Set<string>();
  readonly #flow = new EdgeFlow(FLOW_MAX_LAG_MS, FLOW_DROP_AFTER_MS);
  /** Messages waiting while edges catch up, in mailbox order (see `EdgeFlow`). */
  #held: Envelope[] = [];
  #flowCheckArmed = false;
  #presence = new Presence();

  constructor(ctx: ActorContext, opts: ChannelActorOptions = defaultChannelOptions) {
    this.#ctx = ctx;
    this.#opts = opts;
    this.#name = parseActorId(ctx.self).key;
    this.#state = emptyChannel(this.#name);
    this.#history = new RecentHistory(opts.historySize, opts.dedupeWindow);
    this.#reader = new ChannelReader(ctx, this.#history, this.#name);
    // After a crash, edges are still subscribed: keep sending to them. Their sockets' cursors
    // detect any batch they missed, and resume (G4).
    // Messages held by flow control were never processed: the new activation takes them over.
    const carried = ctx.carried as { edges: string[]; presence: Presence; held: Envelope[] } | undefined;
    if (carried) {
      for (const e of carried.edges) this.#edges.add(e);
      this.#presence = carried.presence;
      this.#held = carried.held;
    }
  }

  carryOver(): unknown {
    return { edges: [...this.#edges], presence: this.#presence, held: this.#held };
  }

  async activate(): Promise<void> {
    const { store, self } = this.#ctx;
    const snap = await store.loadSnapshot(self);
    if (snap) this.#state = snap.state as ChannelState;
    // A journal trimmed to nothing reports last 0: the snapshot still knows how far seqs went.
    this.#last = Math.max((await store.bounds(self)).last, snap?.seq ?? 0);
    const bounds = await store.bounds(self);
    this.#first = bounds.first || this.#last + 1;
    if (this.#last > 0) this.#history.push(await store.readBefore(self, this.#last + 1, this.#opts.historySize));
    this.#armAgeCheck();
  }

  async receive(batch: readonly Envelope[]): Promise<void> {
    const now = this.#ctx.clock.now();
    for (const env of batch) {
      const msg = env.msg as ChannelMsg;
      if (msg.type === "delivered") {
        this.#flow.delivered(msg.edge, msg.seq, now);
        env.reply(true);
      } else if (msg.type === "flow_check") {
        this.#flowCheckArmed = false;
        for (const edge of this.#flow.laggards(now)) {
          this.#dropEdge(edge);
          // Without this the edge's sockets would wait for batches that never come: no later
          // batch, no gap to notice. Told, they resubscribe from their cursors and page history.
          this.#ctx.tell(edge, { type: "dropped", ch: this.#name } satisfies EdgeEvent);
        }
        env.reply(true);
      } else if (msg.type === "publish" && this.#held.length >= MAX_HELD) {
        env.fail(new RejectedError("rate_limited", `Channel ${this.#name} is delivering a backlog; retry shortly`));
      } else {
        this.#held.push(env);
      }
    }
    if (this.#held.length === 0) return;
    if (this.#flow.holding(now)) return this.#armFlowCheck();
    const work = this.#held;
    this.#held = [];
    await this.#process(work);
  }

  async #process(batch: readonly Envelope[]): Promise<void> {
    let pending: Write[] = [];
    for (const env of batch) {
      const msg = env.msg as ChannelMsg;
      if (msg.type === "publish" && msg.parent === undefined) {
        this.#admitPublish(env as Envelope<typeof msg>, pending);
        continue;
      }
      // A presence change saved as a webhook event is placed after the seqs committed before it.
      const placed = needsCommittedState(msg) || (msg.type === "presence" && this.#state.hooks !== undefined);
      if (placed && pending.length > 0) {
        await this.#commit(pending);
        pending = [];
      }
      try {
        if (isChange(msg)) await this.#change(env, msg);
        else env.reply(await this.#handle(msg as Exclude<ChannelMsg, ChangeMsg | { type: "publish" }>));
      } catch (err) {
        if (!(err instanceof RejectedError)) throw err;
        env.fail(err);
      }
    }
    if (pending.length > 0) await this.#commit(pending);
    if (overCount(this.#policy(), this.#first, this.#last) && this.#ctx.clock.now() >= this.#nextTrimAt) await this.#retain();
  }

  async passivate(): Promise<void> {
    this.#ageTimer?.cancel();
    if (this.#state.created) await this.#saveSnapshot();
  }

  canPassivate(): boolean {
    return this.#edges.size === 0 && this.#held.length === 0;
  }

  inspect(): Record<string, unknown> {
    return {
      lastSeq: this.#last,
      created: this.#state.created,
      members: Object.keys(this.#state.members).length,
      subscribedEdges: [...this.#edges],
      online: this.#presence.onlineUsers().length,
      historyHeld: this.#history.size,
      firstSeq: this.#first,
    };
  }

  #admitPublish(env: Envelope<Extract<ChannelMsg, { type: "publish" }>>, pending: Write[]): void {
    const { user, clientId, body } = env.msg;
    try {
      // A system publish comes from a backend through the server API: no membership to check.
      if (env.msg.system) access.requireExists(this.#state);
      else access.requireCanPost(this.#state, user, this.#ctx.clock.now());
    } catch (err) {
      env.fail(err);
      return;
    }
    const seq = this.#history.seqOf(clientId);
    if (seq !== undefined) {
      env.reply({ seq, duplicate: true } satisfies PublishAck);
      return;
    }
    pending.push({ env, user, clientId, body });
  }

  /**
   * A change (edit, delete, reaction, thread reply), with everything before it committed: a
   * retried client id gets its first seq (G3) before any check, since the change it made may
   * forbid it now (a second delete); else the change is checked against the current state of
   * its message and committed alone.
   */
  async #change(env: Envelope, msg: ChangeMsg): Promise<void> {
    access.requireMember(this.#state, msg.user);
    const seen = this.#history.seqOf(msg.clientId) ?? (await this.#ctx.store.findClientIds(this.#ctx.self, [msg.clientId])).get(msg.clientId);
    if (seen !== undefined) return env.reply({ seq: seen, duplicate: true } satisfies PublishAck);
    const ref = changeRef(msg);
    const target = await this.#reader.entryAt(ref, this.#last);
    const st = target && messageState(target, await this.#ctx.store.readRefs(this.#ctx.self, [ref]));
    const entry = changeEntry(this.#state, msg, target, st, this.#ctx.clock.now());
    await this.#commit([{ env, user: msg.user, clientId: msg.clientId, ...entry }]);
  }

  /** Appends the pending writes in one conditional write, then acks and fans out (G1, G2, G3). */
  async #commit(pending: Write[]): Promise<void> {
    let todo = dedupeWithinBatch(pending);
    while (todo.length > 0) {
      const now = this.#ctx.clock.now();
      const entries = entriesOf(todo, this.#last + 1, now);
      let out: AppendOutcome;
      try {
        out = await this.#ctx.store.append(this.#ctx.self, this.#ctx.epoch, entries);
      } catch (err) {
        await this.#settleUnknownCommit(todo, entries, err);
        return;
      }
      if (out.ok) {
        this.#last += entries.length;
        this.#history.push(entries);
        for (let i = 0; i < todo.length; i++) todo[i]!.env.reply({ seq: entries[i]!.seq, duplicate: false } satisfies PublishAck);
        this.#emit({ type: "msgs", ch: this.#name, m: entries });
        this.#notify(entries);
        return;
      }
      if (out.reason === "fenced") throw new FencedError(`Channel ${this.#name}: epoch ${this.#ctx.epoch} was fenced`);
      if (out.reason === "conflict") throw new StormError("internal", `Channel ${this.#name}: seq conflict at ${this.#last + 1}`);
      for (const [id, seq] of out.existing) this.#history.rememberId(id, seq);
      todo = todo.filter((w) => {
        const seq = out.existing.get(w.clientId);
        if (seq === undefined) return true;
        w.env.reply({ seq, duplicate: true } satisfies PublishAck);
        return false;
      });
    }
  }

  /**
   * The append failed without an outcome (connection lost, commit result unknown): what the store
   * holds now is the truth. Entries it committed are delivered and acked; the rest fail retryably,
   * and a retry with the same client id is exactly-once (G3). If even the read fails, the actor
   * restarts from storage.
   */
  async #settleUnknownCommit(
    todo: readonly Write[],
    tried: readonly JournalEntry[],
    cause: unknown,
  ): Promise<void> {
    await this.#requireCurrentEpoch();
    const committed = await this.#ctx.store.readAfter(this.#ctx.self, this.#last, todo.length + 1_000);
    if (committed.length > 0) {
      this.#last = committed[committed.length - 1]!.seq;
      this.#history.push(committed);
      this.#emit({ type: "msgs", ch: this.#name, m: committed });
      this.#notify(committed);
    }
    const ours = new Map(tried.map((e) => [e.clientId, e]));
    for (const { env, clientId } of todo) {
      const seq = this.#history.seqOf(clientId);
      const found = committed.find((e) => e.clientId === clientId);
      const byThisAttempt = found !== undefined && found.seq === ours.get(found.clientId)?.seq && found.ts === ours.get(found.clientId)?.ts;
      if (seq !== undefined) env.reply({ seq, duplicate: !byThisAttempt } satisfies PublishAck);
      else env.fail(new UnavailableError(`Channel ${this.#name}: commit failed; retry with the same client id`, { cause }));
    }
  }

  /** Only the current activation may register subscribers: a stale one would serve a dead stream. */
  async #requireCurrentEpoch(): Promise<void> {
    const current = await this.#ctx.store.currentEpoch(this.#ctx.self);
    if (current?.epoch !== this.#ctx.epoch) {
      throw new FencedError(`Channel ${this.#name}: activation epoch ${this.#ctx.epoch} is no longer current (${current?.epoch})`);
    }
  }

  /** Messages for a user's attention reach all of their connections, subscribed or not, through their session. */
  #notify(entries: readonly JournalEntry[]): void {
    for (const n of notices(this.#state, entries)) this.#ctx.tell(`session:${n.user}`, n.msg);
  }

  async #handle(msg: Exclude<ChannelMsg, ChangeMsg | { type: "publish" }>): Promise<unknown> {
    const s = this.#state;
    if (isModeration(msg)) return this.#moderate(msg);
    switch (msg.type) {
      case "create": {
        if (s.created) throw new RejectedError("channel_exists", `Channel "${this.#name}" already exists`);
        const members: ChannelState["members"] = { [msg.user]: "owner" };
        for (const m of msg.members ?? []) members[m] ??= "member";
        this.#state = {
          created: true, name: this.#name, visibility: msg.visibility, topic: msg.topic, owner: msg.user,
          createdAt: this.#ctx.clock.now(), members,
        };
        await this.#saveSnapshot(Object.keys(members).map((m) => joinedEvent(m, true, m === msg.user ? undefined : msg.user)));
        for (const m of Object.keys(members)) {
          this.#ctx.tell(`session:${m}`, { type: "joined", ch: this.#name, ...(m === msg.user ? {} : { by: msg.user }) } satisfies SessionMsg);
        }
        return channelInfo(this.#state, this.#last);
      }
      case "join":
        access.requireCanJoin(s, msg.user);
        return this.#setMember(msg.user, s.members[msg.user] ?? "member");
      case "invite":
        access.requireCanInvite(s, msg.user, msg.member);
        return this.#setMember(msg.member, s.members[msg.member] ?? "member", { by: msg.user });
      case "leave":
        access.requireMember(s, msg.user);
        return this.#setMember(msg.user, undefined);
      case "topic":
        access.requireCanSetTopic(s, msg.user);
        this.#state = { ...s, topic: msg.topic };
        await this.#saveSnapshot();
        this.#emit({ type: "topic", ch: this.#name, topic: msg.topic, user: msg.user });
        return channelInfo(this.#state, this.#last);
      case "subscribe":
        access.requireMember(s, msg.user);
        await this.#requireCurrentEpoch();
        this.#edges.add(msg.edge);
        return { ...(await this.#reader.page(msg.after, msg.limit, this.#last, this.#first)), epoch: this.#ctx.epoch };
      case "unsubscribe":
        this.#dropEdge(msg.edge);
        return true;
      case "history": {
        access.requireMember(s, msg.user);
        if (msg.thread !== undefined) return this.#reader.thread(msg.thread, msg.after ?? 0, msg.limit, this.#last);
        // Without a position, history means "the latest page", as a chat window opens.
        const page = msg.after === undefined
          ? await this.#reader.pageBefore(msg.before ?? Number.MAX_SAFE_INTEGER, msg.limit, this.#last, this.#first)
          : await this.#reader.page(msg.after, msg.limit, this.#last, this.#first);
        return msg.current ? { ...page, msgs: await this.#reader.currentView(page.msgs) } : page;
      }
      case "info":
        access.requireCanSee(s, msg.user);
        return channelInfo(s, this.#last);
      case "members":
        access.requireCanSee(s, msg.user);
        return { members: s.members, online: this.#presence.onlineUsers() };
      case "presence": {
        const changed = this.#presence.update(msg.edge, msg.user, msg.online);
        if (!changed) return true;
        this.#emit({ type: "presence", ch: this.#name, user: msg.user, online: msg.online });
        // Members only: a socket closed by an erasure reports its user offline after they left.
        if (s.hooks?.presence && s.members[msg.user]) await this.#saveSnapshot([{ type: "presence", payload: { user: msg.user, online: msg.online } }]);
        return true;
      }
      case "hooks":
        access.requireExists(s);
        this.#state = { ...s, hooks: msg.presence ? { presence: true } : undefined };
        await this.#saveSnapshot();
        return true;
      case "mark_read":
        access.requireMember(s, msg.user);
        return Math.min(msg.seq, this.#last);
      case "typing":
        access.requireMember(s, msg.user);
        this.#emit({ type: "typing", ch: this.#name, user: msg.user });
        return true;
      case "retention":
        access.requireExists(s);
        if (!msg.admin && s.owner !== msg.user) throw new RejectedError("forbidden", `Only the owner of "${this.#name}" or an admin may set its retention`);
        this.#state = { ...s, retention: msg.policy ?? undefined };
        await this.#saveSnapshot();
        this.#armAgeCheck();
        await this.#retain();
        return this.#retentionView();
      case "retention_get":
        access.requireCanSee(s, msg.user);
        return this.#retentionView();
      case "admin_member":
        access.requireExists(s);
        return this.#setMember(msg.member, msg.add ? (s.members[msg.member] ?? "member") : undefined);
      case "presence_get":
        access.requireExists(s);
        return { channel: this.#name, online: this.#presence.onlineUsers(), members: Object.keys(s.members).length };
      case "retain":
        if (this.#ctx.clock.now() >= this.#nextTrimAt) await this.#retain();
        this.#armAgeCheck();
        return true;
      case "erase":
        return this.#erase(msg.user, msg.drop);
      case "wake":
        // A wake comes with a move or a takeover: an activation left over from an older epoch
        // must find out now, not at its next write.
        await this.#requireCurrentEpoch();
        return true;
      case "edge_down":
        this.#dropEdge(msg.edge);
        for (const user of this.#presence.dropEdge(msg.edge)) {
          this.#emit({ type: "presence", ch: this.#name, user, online: false });
        }
        return true;
    }
  }

  async #setMember(user: string, role: ChannelState["members"][string] | undefined, how: { by?: string } = {}): Promise<unknown> {
    const had = this.#state.members[user] !== undefined;
    if (had === (role !== undefined)) return channelInfo(this.#state, this.#last);
    const members = { ...this.#state.members };
    if (role) members[user] = role;
    else delete members[user];
    this.#state = { ...this.#state, members };
    const by = how.by !== undefined && how.by !== user ? { by: how.by } : {};
    await this.#saveSnapshot([joinedEvent(user, role !== undefined, by.by)]);
    this.#emit({ type: "member", ch: this.#name, user, joined: role !== undefined });
    this.#ctx.tell(`session:${user}`, { type: role ? "joined" : "left", ch: this.#name, ...by } satisfies SessionMsg);
    return channelInfo(this.#state, this.#last);
  }

  /** Applies a moderation command; a removed member's sockets are unsubscribed everywhere, as after a leave. */
  async #moderate(msg: Parameters<typeof moderate>[1]): Promise<unknown> {
    const out = moderate(this.#state, msg, this.#ctx.clock.now());
    this.#state = out.state;
    await this.#saveSnapshot(out.removed ? [{ type: "membership", payload: { user: out.removed.user, joined: false, by: msg.user, reason: out.removed.reason } }] : []);
    if (out.event) this.#emit(out.event);
    if (out.removed) {
      this.#emit({ type: "member", ch: this.#name, user: out.removed.user, joined: false });
      this.#ctx.tell(`session:${out.removed.user}`, { type: "left", ch: this.#name, reason: out.removed.reason } satisfies SessionMsg);
    }
    return channelInfo(this.#state, this.#last);
  }

  #policy(): RetentionPolicy {
    return this.#state.retention ?? this.#opts.retention;
  }

  #retentionView(): { channel: string; policy: RetentionPolicy; own: boolean; first: number; last: number } {
    return { channel: this.#name, policy: this.#policy(), own: this.#state.retention !== undefined, first: this.#first, last: this.#last };
  }

  /**
   * Trims the journal's prefix as the policy says, through the store's conditional trim (never
   * the last entry, never within the exactly-once horizon), then forgets the same prefix in memory,
   * so no resume is served a message the store no longer holds.
   */
  async #retain(): Promise<void> {
    const now = this.#ctx.clock.now();
    this.#nextTrimAt = now + TRIM_INTERVAL_MS;
    const rule = trimRule(this.#policy(), this.#last, now, this.#opts.dedupeHorizonMs);
    if (!rule || this.#last === 0) return;
    const floor = await this.#ctx.store.trim(this.#ctx.self, this.#ctx.epoch, rule);
    if (floor === null) throw new FencedError(`Channel ${this.#name}: trim fenced at epoch ${this.#ctx.epoch}`);
    if (floor < this.#first) return;
    this.#first = floor + 1;
    this.#history.dropThrough(floor);
  }

  /** While active, a channel with an age limit checks it on a timer (a passivated one at its next activation). */
  #armAgeCheck(): void {
    this.#ageTimer?.cancel();
    this.#ageTimer = undefined;
    const every = ageCheckMs(this.#policy());
    if (every === undefined) return;
    this.#ageTimer = this.#ctx.clock.setTimeout(() => this.#ctx.tell(this.#ctx.self, { type: "retain" }), every);
  }

  /**
   * Erasure of a user: their entries become tombstones in the store and in memory, they leave the
   * channel (and stop owning it). With `drop` (a direct conversation, named after the user), the
   * channel is emptied in memory and every member told it is gone; the caller then deletes its rows.
   */
  async #erase(user: string, drop: boolean | undefined): Promise<{ erased: number; member: boolean }> {
    const erased = await this.#ctx.store.eraseSender(this.#ctx.self, this.#ctx.epoch, user);
    if (erased === null) throw new FencedError(`Channel ${this.#name}: erasure fenced at epoch ${this.#ctx.epoch}`);
    this.#history.eraseSender(user);
    const member = this.#state.members[user] !== undefined;
    if (drop) {
      for (const m of Object.keys(this.#state.members)) this.#emit({ type: "member", ch: this.#name, user: m, joined: false });
      this.#state = emptyChannel(this.#name);
      this.#history = new RecentHistory(this.#opts.historySize, this.#opts.dedupeWindow);
      this.#reader = new ChannelReader(this.#ctx, this.#history, this.#name);
      return { erased, member };
    }
    const members = { ...this.#state.members };
    delete members[user];
    // A ban or mute names the user too: the account is gone, and so is what was held against it.
    const { banned, muted } = this.#state;
    const unnamed = (m: Record<string, number> | undefined) => m && Object.fromEntries(Object.entries(m).filter(([u]) => u !== user));
    this.#state = { ...this.#state, members, owner: this.#state.owner === user ? "" : this.#state.owner, banned: unnamed(banned), muted: unnamed(muted) };
    if (this.#state.created) await this.#saveSnapshot();
    if (member) this.#emit({ type: "member", ch: this.#name, user, joined: false });
    return { erased, member };
  }

  /** Saves the state, with the webhook events of the change that made it (written together or not at all). */
  async #saveSnapshot(events: Array<Pick<SnapshotEvent, "type" | "payload">> = []): Promise<void> {
    const at = this.#ctx.clock.now();
    const snapshot = { seq: this.#last, state: this.#state, ...(events.length > 0 ? { events: events.map((e) => ({ ...e, afterSeq: this.#last, at })) } : {}) };
    const ok = await this.#ctx.store.saveSnapshot(this.#ctx.self, this.#ctx.epoch, snapshot);
    if (!ok) throw new FencedError(`Channel ${this.#name}: snapshot fenced at epoch ${this.#ctx.epoch}`);
  }

  #emit(event: EdgeEvent): void {
    if (event.type === "msgs") {
      const now = this.#ctx.clock.now();
      const last = event.m[event.m.length - 1]!.seq;
      for (const edge of this.#edges) this.#flow.sent(edge, last, now);
    }
    for (const edge of this.#edges) this.#ctx.tell(edge, event);
  }

  /** While held, a self-addressed check drops edges that never catch up, so work cannot stall. */
  #armFlowCheck(): void {
    if (this.#flowCheckArmed) return;
    this.#flowCheckArmed = true;
    this.#ctx.clock.setTimeout(() => this.#ctx.tell(this.#ctx.self, { type: "flow_check" }), this.#flow.dropAfterMs);
  }

  #dropEdge(edge: string): void {
    this.#edges.delete(edge);
    this.#flow.forget(edge);
  }
}

/** A membership webhook event: `by` another user (an invitation, a creator adding members). */
function joinedEvent(user: string, joined: boolean, by: string | undefined): Pick<SnapshotEvent, "type" | "payload"> {
  return { type: "membership", payload: { user, joined, ...(by !== undefined ? { by } : {}) } };
}

/** Metadata writes and reads of history must see the publishes queued before them committed. */
function needsCommittedState(msg: ChannelMsg): boolean {
  return msg.type === "create" || msg.type === "join" || msg.type === "leave" || msg.type === "invite" ||
    msg.type === "topic" || msg.type === "subscribe" || msg.type === "history" || msg.type === "mark_read" || isChange(msg) || isModeration(msg) ||
    msg.type === "retention" || msg.type === "retain" || msg.type === "erase" || msg.type === "admin_member" || msg.type === "hooks";
}
