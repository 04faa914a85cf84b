import { FencedError, RejectedError } from "../runtime/core/errors.ts";
import type { SnapshotEvent } from "../storage/store.ts";
import type { ChangeMsg } from "./change_rules.ts";
import type { ChannelCore } from "./channel_core.ts";
import { access, type ChannelState, channelInfo, emptyChannel } from "./channel_state.ts";
import type { JournalTrimmer } from "./journal_trimmer.ts";
import type { ChannelMsg, SessionMsg } from "./messages.ts";
import { isModeration, moderate } from "./moderation.ts";

/** Every channel message that is not a journal write (a publish or a change). */
export type CommandMsg = Exclude<ChannelMsg, ChangeMsg | { type: "publish" }>;

/**
 * The commands that read or change a channel's metadata rather than its journal: creation,
 * membership and moderation, topic, subscriptions and history, presence, retention and erasure.
 * A change of metadata is saved in the snapshot (with its webhook events) before it is told to
 * edges and sessions.
 */
export class ChannelCommands {
  readonly #core: ChannelCore;
  readonly #trimmer: JournalTrimmer;

  constructor(core: ChannelCore, trimmer: JournalTrimmer) {
    this.#core = core;
    this.#trimmer = trimmer;
  }

  async handle(msg: CommandMsg): Promise<unknown> {
    const c = this.#core;
    const s = c.state;
    if (isModeration(msg)) return this.#moderate(msg);
    switch (msg.type) {
      case "create": {
        if (s.created) throw new RejectedError("channel_exists", `Channel "${c.name}" already exists`);
        const members: ChannelState["members"] = { [msg.user]: "owner" };
        for (const m of msg.members ?? []) members[m] ??= "member";
        c.state = {
          created: true, name: c.name, visibility: msg.visibility, topic: msg.topic, owner: msg.user,
          createdAt: c.ctx.clock.now(), members,
        };
        await c.saveSnapshot(Object.keys(members).map((m) => joinedEvent(m, true, m === msg.user ? undefined : msg.user)));
        for (const m of Object.keys(members)) {
          c.ctx.tell(`session:${m}`, { type: "joined", ch: c.name, ...(m === msg.user ? {} : { by: msg.user }) } satisfies SessionMsg);
        }
        return channelInfo(c.state, c.last);
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
        c.state = { ...s, topic: msg.topic };
        await c.saveSnapshot();
        c.emit({ type: "topic", ch: c.name, topic: msg.topic, user: msg.user });
        return channelInfo(c.state, c.last);
      case "subscribe":
        access.requireMember(s, msg.user);
        await c.requireCurrentEpoch();
        c.fanout.add(msg.edge);
        return { ...(await c.reader.page(msg.after, msg.limit, c.last, c.first)), epoch: c.ctx.epoch };
      case "unsubscribe":
        c.fanout.drop(msg.edge);
        return true;
      case "history": {
        access.requireMember(s, msg.user);
        if (msg.thread !== undefined) return c.reader.thread(msg.thread, msg.after ?? 0, msg.limit, c.last);
        // Without a position, history means "the latest page", as a chat window opens.
        const page = msg.after === undefined
          ? await c.reader.pageBefore(msg.before ?? Number.MAX_SAFE_INTEGER, msg.limit, c.last, c.first)
          : await c.reader.page(msg.after, msg.limit, c.last, c.first);
        return msg.current ? { ...page, msgs: await c.reader.currentView(page.msgs) } : page;
      }
      case "info":
        access.requireCanSee(s, msg.user);
        return channelInfo(s, c.last);
      case "members":
        access.requireCanSee(s, msg.user);
        return { members: s.members, online: c.presence.onlineUsers() };
      case "presence": {
        const changed = c.presence.update(msg.edge, msg.user, msg.online);
        if (!changed) return true;
        c.emit({ type: "presence", ch: c.name, user: msg.user, online: msg.online });
        // Members only: a socket closed by an erasure reports its user offline after they left.
        if (s.hooks?.presence && s.members[msg.user]) await c.saveSnapshot([{ type: "presence", payload: { user: msg.user, online: msg.online } }]);
        return true;
      }
      case "hooks":
        access.requireExists(s);
        c.state = { ...s, hooks: msg.presence ? { presence: true } : undefined };
        await c.saveSnapshot();
        return true;
      case "mark_read":
        access.requireMember(s, msg.user);
        return Math.min(msg.seq, c.last);
      case "typing":
        access.requireMember(s, msg.user);
        c.emit({ type: "typing", ch: c.name, user: msg.user });
        return true;
      case "retention":
        access.requireExists(s);
        if (!msg.admin && s.owner !== msg.user) throw new RejectedError("forbidden", `Only the owner of "${c.name}" or an admin may set its retention`);
        c.state = { ...s, retention: msg.policy ?? undefined };
        await c.saveSnapshot();
        this.#trimmer.armAgeCheck();
        await this.#trimmer.retain();
        return this.#trimmer.view();
      case "retention_get":
        access.requireCanSee(s, msg.user);
        return this.#trimmer.view();
      case "admin_member":
        access.requireExists(s);
        return this.#setMember(msg.member, msg.add ? (s.members[msg.member] ?? "member") : undefined);
      case "presence_get":
        access.requireExists(s);
        return { channel: c.name, online: c.presence.onlineUsers(), members: Object.keys(s.members).length };
      case "retain":
        await this.#trimmer.retainIfDue();
        return true;
      case "erase":
        return this.#erase(msg.user, msg.drop);
      case "wake":
        // A wake comes with a move or a takeover: an activation left over from an older epoch
        // must find out now, not at its next write.
        await c.requireCurrentEpoch();
        return true;
      case "edge_down":
        c.fanout.drop(msg.edge);
        for (const user of c.presence.dropEdge(msg.edge)) {
          c.emit({ type: "presence", ch: c.name, user, online: false });
        }
        return true;
    }
  }

  async #setMember(user: string, role: ChannelState["members"][string] | undefined, how: { by?: string } = {}): Promise<unknown> {
    const c = this.#core;
    const had = c.state.members[user] !== undefined;
    if (had === (role !== undefined)) return channelInfo(c.state, c.last);
    const members = { ...c.state.members };
    if (role) members[user] = role;
    else delete members[user];
    c.state = { ...c.state, members };
    const by = how.by !== undefined && how.by !== user ? { by: how.by } : {};
    await c.saveSnapshot([joinedEvent(user, role !== undefined, by.by)]);
    c.emit({ type: "member", ch: c.name, user, joined: role !== undefined });
    c.ctx.tell(`session:${user}`, { type: role ? "joined" : "left", ch: c.name, ...by } satisfies SessionMsg);
    return channelInfo(c.state, c.last);
  }

  /** Applies a moderation command; a removed member's sockets are unsubscribed everywhere, as after a leave. */
  async #moderate(msg: Parameters<typeof moderate>[1]): Promise<unknown> {
    const c = this.#core;
    const out = moderate(c.state, msg, c.ctx.clock.now());
    c.state = out.state;
    await c.saveSnapshot(out.removed ? [{ type: "membership", payload: { user: out.removed.user, joined: false, by: msg.user, reason: out.removed.reason } }] : []);
    if (out.event) c.emit(out.event);
    if (out.removed) {
      c.emit({ type: "member", ch: c.name, user: out.removed.user, joined: false });
      c.ctx.tell(`session:${out.removed.user}`, { type: "left", ch: c.name, reason: out.removed.reason } satisfies SessionMsg);
    }
    return channelInfo(c.state, c.last);
  }

  /**
   * Erasure of a user: their entries become tombstones in the store and in memory, they leave the
   * channel (and stop owning it). With `drop` (a direct conversation, named after the user), the
   * channel is emptied in memory and every member told it is gone; the caller then deletes its rows.
   */
  async #erase(user: string, drop: boolean | undefined): Promise<{ erased: number; member: boolean }> {
    const c = this.#core;
    const erased = await c.ctx.store.eraseSender(c.ctx.self, c.ctx.epoch, user);
    if (erased === null) throw new FencedError(`Channel ${c.name}: erasure fenced at epoch ${c.ctx.epoch}`);
    c.history.eraseSender(user);
    const member = c.state.members[user] !== undefined;
    if (drop) {
      for (const m of Object.keys(c.state.members)) c.emit({ type: "member", ch: c.name, user: m, joined: false });
      c.state = emptyChannel(c.name);
      c.forgetHistory();
      return { erased, member };
    }
    const members = { ...c.state.members };
    delete members[user];
    // A ban or mute names the user too: the account is gone, and so is what was held against it.
    const { banned, muted } = c.state;
    const unnamed = (m: Record<string, number> | undefined) => m && Object.fromEntries(Object.entries(m).filter(([u]) => u !== user));
    c.state = { ...c.state, members, owner: c.state.owner === user ? "" : c.state.owner, banned: unnamed(banned), muted: unnamed(muted) };
    if (c.state.created) await c.saveSnapshot();
    if (member) c.emit({ type: "member", ch: c.name, user, joined: false });
    return { erased, member };
  }
}

/** A membership webhook event: `by` another user (an invitation, a creator adding members). */
function joinedEvent(user: string, joined: boolean, by: string | undefined): Pick<SnapshotEvent, "type" | "payload"> {
  return { type: "membership", payload: { user, joined, ...(by !== undefined ? { by } : {}) } };
}
