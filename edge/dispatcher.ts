import type { ChannelInfo, ChannelMsg, HistoryReply, PublishAck, SessionView, SyncView } from "../actors/messages.ts";
import type { SyncItem } from "../actors/sync_queue.ts";
import type { SearchPage } from "../storage/store.ts";
import { RejectedError } from "../runtime/core/errors.ts";
import type { Principal } from "./auth.ts";
import type { Connection } from "./connection.ts";
import type { EdgeMetrics } from "./edge_metrics.ts";
import { ackFrame, replyFrame, toWireMessage } from "./frames.ts";
import { type ActorGateway, channelActor, dmChannel, sessionActor } from "./gateway.ts";
import type { ClientFrame } from "./schemas.ts";
import type { RateLimits } from "./rate_limits.ts";
import type { Subscriptions } from "./subscriptions.ts";

/** What the edge reads from storage directly (not the message path): the channel list, and search. */
export interface ChannelDirectory {
  list(afterName: string, limit: number): Promise<Array<{ name: string; visibility: string; topic: string; members: string[] }>>;
  /** Full-text search over the channels `user` is a member of (`Store.search`). */
  search(user: string, query: string, before: string | undefined, limit: number): Promise<SearchPage>;
}

/** A page of search hits as clients see them. */
export interface SearchReply {
  hits: Array<{ ch: string; seq: number; ts: number; from: string; body: string; edited?: true }>;
  next?: string;
}

const JOURNAL_WRITES: ReadonlySet<string> = new Set(["pub", "edit", "delete", "react", "unreact"]);

/** The one command type: a client frame, whichever transport decoded it (WebSocket, REST, `POST /cmd`). */
export type Command = ClientFrame;

export interface MembersReply {
  members: Record<string, string>;
  online: string[];
}

/** What each command returns; each transport encodes it its own way (`replyTo` for frames). */
export interface CommandResults {
  auth: never;
  ping: { ts: number };
  pub: PublishAck;
  edit: PublishAck;
  delete: PublishAck;
  react: PublishAck;
  unreact: PublishAck;
  visibility: ChannelInfo;
  role: ChannelInfo;
  kick: ChannelInfo;
  ban: ChannelInfo;
  unban: ChannelInfo;
  mute: ChannelInfo;
  search: SearchReply;
  sub: void;
  unsub: void;
  create: ChannelInfo;
  join: ChannelInfo;
  leave: ChannelInfo;
  invite: ChannelInfo;
  dm: string;
  hist: HistoryReply;
  info: ChannelInfo;
  members: MembersReply;
  topic: ChannelInfo;
  typing: void;
  read: void;
}

export type ResultOf<C extends Command> = CommandResults[C["t"]];

/**
 * Executes every client command against the actors, for every transport: the one place that maps
 * a command to actor messages. Access checks are the actors' (membership, roles: G8); validation
 * happened when the transport decoded the command (`validate.ts`). `conn` is the caller's stream
 * when its transport keeps one (WebSocket): `sub`, `unsub` and `typing` act on it; without one
 * (`POST /cmd`, REST) `sub` and `unsub` are refused and `typing` needs membership alone.
 */
export class Dispatcher {
  constructor(
    private readonly actors: ActorGateway,
    private readonly subs: Subscriptions,
    private readonly directory: ChannelDirectory,
    private readonly limits?: RateLimits,
    /** Counts acknowledged publishes and every command's errors by code, whatever the transport. */
    private readonly metrics?: EdgeMetrics,
  ) {}

  /** Runs a command for `p`, after its rate limit (per user, and per connection for publishes on a stream). */
  async execute<C extends Command>(p: Principal, f: C, conn?: Connection): Promise<ResultOf<C>> {
    try {
      if (this.limits) {
        // Edits, deletes and reactions are journal entries too: they spend the publish budget.
        if (JOURNAL_WRITES.has(f.t)) this.limits.publish(p.user, conn);
        else this.limits.request(p.user);
      }
      const r = (await this.#run(p, f as Command, conn)) as ResultOf<C>;
      if (f.t === "pub" && this.metrics) this.metrics.publishes.value++;
      return r;
    } catch (err) {
      this.metrics?.error(err);
      throw err;
    }
  }

  async #run(p: Principal, f: Command, conn: Connection | undefined): Promise<unknown> {
    const user = p.user;
    switch (f.t) {
      case "auth":
        throw new RejectedError("bad_request", conn ? "Already authenticated" : "Cannot use auth over HTTP: send `Authorization: Bearer <jwt>`");
      case "ping":
        return { ts: Date.now() };
      case "pub": {
        const msg: ChannelMsg = { type: "publish", user, clientId: f.cid, body: f.body };
        // Only a reply carries `parent`: a plain publish keeps the four keys the thread hop codes compactly.
        if (f.parent !== undefined) msg.parent = f.parent;
        return this.actors.ask<PublishAck>(channelActor(f.ch), msg);
      }
      case "edit":
        return this.actors.ask<PublishAck>(channelActor(f.ch), { type: "edit", user, clientId: f.cid, ref: f.seq, body: f.body });
      case "delete":
        // Without a client id, one per message: deleting a message twice is answered with the first delete's seq.
        return this.actors.ask<PublishAck>(channelActor(f.ch), { type: "delete", user, clientId: f.cid ?? `delete:${f.seq}`, ref: f.seq });
      case "react":
      case "unreact":
        return this.actors.ask<PublishAck>(channelActor(f.ch), { type: "react", user, clientId: f.cid, ref: f.seq, emoji: f.emoji, remove: f.t === "unreact" });
      case "visibility":
        return this.actors.ask<ChannelInfo>(channelActor(f.ch), { type: "visibility", user, visibility: f.visibility });
      case "role":
        return this.actors.ask<ChannelInfo>(channelActor(f.ch), { type: "role", user, member: f.user, role: f.role });
      case "kick":
        return this.actors.ask<ChannelInfo>(channelActor(f.ch), { type: "kick", user, member: f.user });
      case "ban":
      case "unban":
        return this.actors.ask<ChannelInfo>(channelActor(f.ch), { type: "ban", user, member: f.user, unban: f.t === "unban" });
      case "mute":
        return this.actors.ask<ChannelInfo>(channelActor(f.ch), { type: "mute", user, member: f.user, ms: f.ms });
      case "search":
        return this.search(user, f.q, f.before, f.limit ?? 20);
      case "sub":
        if (!conn) throw noStream(f.t);
        return this.subs.subscribe(conn, f.id, f.ch, f.after ?? 0);
      case "unsub":
        if (!conn) throw noStream(f.t);
        return this.subs.unsubscribe(conn, f.ch);
      case "create":
        return this.actors.ask<ChannelInfo>(channelActor(f.ch), { type: "create", user, visibility: f.visibility ?? "public", topic: f.topic ?? "", members: f.members });
      case "join":
        return this.actors.ask<ChannelInfo>(channelActor(f.ch), { type: "join", user });
      case "leave": {
        const info = await this.actors.ask<ChannelInfo>(channelActor(f.ch), { type: "leave", user });
        if (conn) this.subs.unsubscribe(conn, f.ch);
        return info;
      }
      case "invite":
        return this.actors.ask<ChannelInfo>(channelActor(f.ch), { type: "invite", user, member: f.user });
      case "dm":
        return this.openDm(user, f.user);
      case "hist":
        // Clients see messages in their current version; subscriptions replay entries as journaled.
        return this.actors.ask<HistoryReply>(channelActor(f.ch), { type: "history", user, before: f.before, after: f.after, limit: f.limit ?? 100, current: true, thread: f.thread });
      case "info":
        return this.actors.ask<ChannelInfo>(channelActor(f.ch), { type: "info", user });
      case "members":
        return this.actors.ask<MembersReply>(channelActor(f.ch), { type: "members", user });
      case "topic":
        return this.actors.ask<ChannelInfo>(channelActor(f.ch), { type: "topic", user, topic: f.topic });
      case "typing":
        // On a stream, only where the caller is subscribed; otherwise the actor drops non-members.
        if (!conn || conn.subs.has(f.ch)) this.actors.tell(channelActor(f.ch), { type: "typing", user });
        return undefined;
      case "read": {
        // The channel refuses a non-member (or a missing channel) and clamps seq to its last.
        const seq = await this.actors.ask<number>(channelActor(f.ch), { type: "mark_read", user, seq: f.seq });
        await this.actors.ask(sessionActor(user), { type: "read", ch: f.ch, seq });
        return undefined;
      }
    }
  }

  /** Search hits in the caller's channels only: the store reads the membership the channel actors saved (G8). */
  async search(user: string, q: string, before: string | undefined, limit: number): Promise<SearchReply> {
    const page = await this.directory.search(user, q, before, limit);
    const hits = page.hits.map((h) => ({ ch: h.actorId.slice("channel:".length), seq: h.seq, ts: h.ts, from: h.sender, body: h.body, ...(h.edited ? { edited: true as const } : {}) }));
    return page.next === undefined ? { hits } : { hits, next: page.next };
  }

  /** The caller's channels, read markers, unread and mention counts (`GET /users/me`). */
  session(p: Principal): Promise<SessionView> {
    return this.actors.ask<SessionView>(sessionActor(p.user), { type: "get" });
  }

  /** Channels the caller may see, paged by name over all channels (`GET /channels`). */
  async listChannels(p: Principal, after: string, limit: number) {
    const list = await this.directory.list(after, limit);
    const visible = list.filter((c) => c.visibility === "public" || c.members.includes(p.user));
    // Paging runs over all channels, so a page may hold fewer than `limit`: `next` says where to go on.
    const next = list.length === limit ? list[list.length - 1]!.name : undefined;
    return { channels: visible.map(({ members, ...c }) => ({ ...c, members: members.length })), next };
  }

  /** Adds an event to a user's sync queue (durable once answered). */
  syncPush(user: string, item: Omit<SyncItem, "n" | "id">): Promise<SyncItem> {
    return this.actors.ask<SyncItem>(sessionActor(user), { type: "sync_push", item });
  }

  /** A user's sync queue after a position or since a time, with their channels. */
  syncRead(user: string, at: { after: number } | { since: number }): Promise<SyncView> {
    return this.actors.ask<SyncView>(sessionActor(user), { type: "sync_read", ...at });
  }

  /**
   * Adds an event to the queue of every member of `topics` (channels), or of every channel when
   * absent; answers how many users got it. Reads the channel directory: an operator's action, not
   * the message path.
   */
  async syncBroadcast(topics: string[] | undefined, item: Omit<SyncItem, "n" | "id">): Promise<number> {
    const wanted = topics && new Set(topics);
    const users = new Set<string>();
    for (let after = ""; ;) {
      const page = await this.directory.list(after, 500);
      for (const c of page) if (!wanted || wanted.has(c.name)) for (const m of c.members) users.add(m);
      if (page.length < 500) break;
      after = page[page.length - 1]!.name;
    }
    const list = [...users];
    // A bounded number of sessions at a time: a broadcast must not flood the workers' mailboxes.
    for (let i = 0; i < list.length; i += 64) await Promise.all(list.slice(i, i + 64).map((u) => this.syncPush(u, item)));
    return list.length;
  }

  /** Creates (once) the private two-member channel of a direct conversation and returns its name. */
  async openDm(user: string, other: string): Promise<string> {
    const ch = dmChannel(user, other);
    try {
      await this.actors.ask(channelActor(ch), { type: "create", user, visibility: "private", topic: "", members: [other] });
    } catch (err) {
      if (!(err instanceof Error && (err as { code?: string }).code === "channel_exists")) throw err;
    }
    return ch;
  }
}

/**
 * The reply frame of a command, as WebSocket and `POST /cmd` send it: `undefined` for commands
 * that have none (`sub`'s reply is its `subbed` frame on the stream; `typing`; `read` without id).
 */
export function replyTo<C extends Command>(f: C, r: ResultOf<C>): string | undefined {
  const c = f as Command;
  switch (c.t) {
    case "pub":
    case "edit":
    case "delete":
    case "react":
    case "unreact": {
      const ack = r as PublishAck;
      return ackFrame(c.id, c.ch, ack.seq, ack.duplicate);
    }
    case "visibility":
    case "role":
    case "kick":
    case "ban":
    case "unban":
    case "mute":
      return replyFrame("ok", c.id, { ch: c.ch, info: r });
    case "search":
      return replyFrame("search", c.id, { ...(r as SearchReply) });
    case "ping":
      return replyFrame("pong", c.id, r as { ts: number });
    case "create":
    case "join":
    case "leave":
    case "invite":
    case "topic":
      return replyFrame("ok", c.id, { ch: c.ch, info: r });
    case "unsub":
      return replyFrame("ok", c.id, { ch: c.ch });
    case "dm":
      return replyFrame("ok", c.id, { ch: r });
    case "hist": {
      const page = r as HistoryReply;
      return JSON.stringify({ t: "hist", id: c.id, ch: c.ch, ...(c.thread === undefined ? {} : { thread: c.thread }), m: page.msgs.map(toWireMessage), more: page.more, last: page.last, first: page.first, truncated: page.truncated || undefined });
    }
    case "info":
      return replyFrame("info", c.id, { ch: c.ch, info: r });
    case "members":
      return replyFrame("members", c.id, { ch: c.ch, ...(r as MembersReply) });
    case "read":
      return c.id === undefined ? undefined : replyFrame("ok", c.id, { ch: c.ch });
    case "auth":
    case "sub":
    case "typing":
      return undefined;
  }
}

function noStream(t: string): RejectedError {
  return new RejectedError("bad_request", `Cannot use "${t}" over POST /cmd: use GET /sse or GET /poll to receive a channel`);
}
