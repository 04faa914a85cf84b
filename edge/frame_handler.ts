import type { ChannelInfo, HistoryReply, PublishAck, SubscribeReply } from "../actors/messages.ts";
import { RejectedError } from "../runtime/core/errors.ts";
import type { Connection, Subscription } from "./connection.ts";
import type { Fanout } from "./fanout.ts";
import type { EdgeMetrics } from "./edge_metrics.ts";
import { ackFrame, msgsFrameIn, replyFrame, toWireMessage } from "./frames.ts";
import { type ActorGateway, channelActor, dmChannel, sessionActor } from "./gateway.ts";
import type { ClientFrame } from "./schemas.ts";

const PAGE = 500;
const MAX_INFLIGHT = 4_096;

/**
 * Executes the frames of authenticated WebSocket connections against the actors. Every request
 * frame with an `id` gets exactly one reply frame with that id: its result or a typed error.
 */
export class FrameHandler {
  /** Per channel, the newest activation epoch this edge is registered with. */
  readonly #epochs = new Map<string, number>();

  constructor(
    private readonly actors: ActorGateway,
    private readonly fanout: Fanout,
    private readonly metrics: EdgeMetrics,
  ) {}

  handle(conn: Connection, f: ClientFrame): void {
    const id = "id" in f ? f.id : undefined;
    // A connection's unanswered requests are bounded (G6): each one holds memory on this node.
    if (conn.inflight >= MAX_INFLIGHT) {
      this.metrics.rateLimit("inflight");
      conn.push(this.metrics.errorFrame(id, new RejectedError("rate_limited", `Too many requests in flight on this connection (max ${MAX_INFLIGHT})`)));
      return;
    }
    conn.inflight++;
    this.#run(conn, f).then(
      (frame) => {
        conn.inflight--;
        if (frame) conn.push(frame);
      },
      (err) => {
        conn.inflight--;
        conn.push(this.metrics.errorFrame(id, err));
      },
    );
  }

  /** Forgets a closed connection everywhere: sockets, presence, the user's session. */
  closed(conn: Connection): void {
    for (const ch of [...conn.subs.keys()]) this.#unsubscribe(conn, ch);
    this.fanout.removeUser(conn);
    this.actors.tell(sessionActor(conn.user), { type: "disconnect", edge: this.actors.edgeId });
  }

  async #run(conn: Connection, f: ClientFrame): Promise<string | undefined> {
    const user = conn.user;
    switch (f.t) {
      case "auth":
        throw new RejectedError("bad_request", "Already authenticated");
      case "ping":
        return replyFrame("pong", f.id, { ts: Date.now() });
      case "pub": {
        const ack = await this.actors.ask<PublishAck>(channelActor(f.ch), { type: "publish", user, clientId: f.cid, body: f.body });
        this.metrics.publishes.value++;
        return ackFrame(f.id, f.ch, ack.seq, ack.duplicate);
      }
      case "sub":
        await this.#subscribe(conn, f.id, f.ch, f.after ?? 0);
        return undefined;
      case "unsub":
        this.#unsubscribe(conn, f.ch);
        return replyFrame("ok", f.id, { ch: f.ch });
      case "create": {
        const info = await this.actors.ask<ChannelInfo>(channelActor(f.ch), { type: "create", user, visibility: f.visibility ?? "public", topic: f.topic ?? "" });
        return replyFrame("ok", f.id, { ch: f.ch, info });
      }
      case "join":
      case "leave": {
        const info = await this.actors.ask<ChannelInfo>(channelActor(f.ch), { type: f.t, user });
        if (f.t === "leave") this.#unsubscribe(conn, f.ch);
        return replyFrame("ok", f.id, { ch: f.ch, info });
      }
      case "invite": {
        const info = await this.actors.ask<ChannelInfo>(channelActor(f.ch), { type: "invite", user, member: f.user });
        return replyFrame("ok", f.id, { ch: f.ch, info });
      }
      case "dm": {
        const ch = await openDm(this.actors, user, f.user);
        return replyFrame("ok", f.id, { ch });
      }
      case "hist": {
        const page = await this.actors.ask<HistoryReply>(channelActor(f.ch), { type: "history", user, before: f.before, after: f.after, limit: f.limit ?? 100 });
        return JSON.stringify({ t: "hist", id: f.id, ch: f.ch, m: page.msgs.map(toWireMessage), more: page.more, last: page.last });
      }
      case "info":
        return replyFrame("info", f.id, { ch: f.ch, info: await this.actors.ask(channelActor(f.ch), { type: "info", user }) });
      case "members":
        return replyFrame("members", f.id, { ch: f.ch, ...(await this.actors.ask<object>(channelActor(f.ch), { type: "members", user })) });
      case "topic": {
        const info = await this.actors.ask<ChannelInfo>(channelActor(f.ch), { type: "topic", user, topic: f.topic });
        return replyFrame("ok", f.id, { ch: f.ch, info });
      }
      case "typing":
        if (conn.subs.has(f.ch)) this.actors.tell(channelActor(f.ch), { type: "typing", user });
        return undefined;
      case "read":
        await this.actors.ask(sessionActor(user), { type: "read", ch: f.ch, seq: f.seq });
        return f.id === undefined ? undefined : replyFrame("ok", f.id, { ch: f.ch });
    }
  }

  /**
   * Subscribe with resume (G4): registers for live batches first, then pages history from `after`
   * up to the actor's last seq, then releases the live batches held meanwhile. No gap, no duplicate.
   */
  async #subscribe(conn: Connection, id: number, ch: string, after: number): Promise<void> {
    if (conn.subs.has(ch)) this.#unsubscribe(conn, ch);
    this.fanout.subscribe(conn, ch, after);
    const sub = conn.subs.get(ch)!;
    let page: SubscribeReply;
    try {
      page = await this.actors.ask<SubscribeReply>(channelActor(ch), { type: "subscribe", user: conn.user, edge: this.actors.edgeId, after, limit: PAGE });
    } catch (err) {
      this.#unsubscribe(conn, ch, false);
      throw err;
    }
    if (conn.subs.get(ch) !== sub) throw new RejectedError("bad_request", `Subscription to "${ch}" was replaced by a later sub or unsub`);
    // The channel may have moved while this sub was pending (moves skip unconfirmed subs).
    const moved = (this.#epochs.get(ch) ?? 0) > (page.epoch ?? 0);
    this.#noteEpoch(ch, page.epoch);
    // A position past the channel's end cannot have been seen: resume from the end instead of
    // silently skipping the messages that will take those seqs.
    if (sub.cursor > page.last) sub.cursor = page.last;
    conn.push(replyFrame("subbed", id, { ch, last: page.last, first: page.first, truncated: page.truncated || undefined }));
    sub.confirmed = true;
    if (moved) return void this.#resubscribe(conn, ch, 0);
    this.actors.tell(channelActor(ch), { type: "presence", edge: this.actors.edgeId, user: conn.user, online: true });
    await this.#catchUp(conn, ch, sub, page, sub.gen);
  }

  /** Pages from the cursor to the actor's last seq, then releases held live batches (G4). */
  async #catchUp(conn: Connection, ch: string, sub: Subscription, page: SubscribeReply, gen: number): Promise<void> {
    for (;;) {
      this.#sendPage(conn, ch, sub, page.msgs);
      if (!page.more && this.fanout.goLive(conn, ch, sub)) return;
      page = await this.actors.ask<SubscribeReply>(channelActor(ch), { type: "history", user: conn.user, after: sub.cursor, limit: PAGE });
      if (conn.subs.get(ch) !== sub || conn.closed || sub.gen !== gen) return;
    }
  }

  /**
   * The channel's actor has a new activation (failover, migration, restart): the old one will send
   * nothing more. Every local socket on the channel registers with the new one and resumes from
   * its cursor, so the stream continues with no gap and no duplicate.
   */
  placementChanged(ch: string, epoch: number): void {
    if ((this.#epochs.get(ch) ?? 0) >= epoch) return;
    const conns = this.fanout.connectionsOn(ch);
    if (conns.length === 0) return void this.#epochs.delete(ch);
    this.#epochs.set(ch, epoch);
    // A sub still waiting for its reply is not moved: it checks the epoch itself when answered,
    // and nothing may reach the client before its `subbed`.
    for (const conn of conns) if (conn.subs.get(ch)?.confirmed) void this.#resubscribe(conn, ch, 0);
  }

  /** The channel dropped this edge (it lagged): every confirmed socket on it resubscribes from its cursor. */
  resync(ch: string): void {
    for (const conn of this.fanout.connectionsOn(ch)) if (conn.subs.get(ch)?.confirmed) void this.#resubscribe(conn, ch, 0);
  }

  async #resubscribe(conn: Connection, ch: string, attempt: number): Promise<void> {
    const sub = conn.subs.get(ch);
    if (!sub || conn.closed) return;
    const gen = this.fanout.restartCatchUp(sub);
    try {
      const page = await this.actors.ask<SubscribeReply>(channelActor(ch), { type: "subscribe", user: conn.user, edge: this.actors.edgeId, after: sub.cursor, limit: PAGE });
      if (conn.subs.get(ch) !== sub || sub.gen !== gen) return;
      this.#noteEpoch(ch, page.epoch);
      this.actors.tell(channelActor(ch), { type: "presence", edge: this.actors.edgeId, user: conn.user, online: true });
      await this.#catchUp(conn, ch, sub, page, gen);
    } catch {
      if (conn.subs.get(ch) !== sub || sub.gen !== gen || conn.closed) return;
      // The new activation is not reachable yet; past a few tries the client resumes by itself.
      if (attempt >= 5) return conn.close(4100, "slow_consumer");
      setTimeout(() => void this.#resubscribe(conn, ch, attempt + 1), 100 * 2 ** attempt);
    }
  }

  #noteEpoch(ch: string, epoch: number | undefined): void {
    if (epoch !== undefined && epoch > (this.#epochs.get(ch) ?? 0)) this.#epochs.set(ch, epoch);
  }

  /** A user left a channel (from any socket, any node): none of their sockets here may read it. */
  userLeft(user: string, ch: string): void {
    for (const conn of this.fanout.connectionsOf(user)) this.#unsubscribe(conn, ch);
  }

  #sendPage(conn: Connection, ch: string, sub: Subscription, msgs: SubscribeReply["msgs"]): void {
    const fresh = msgs.filter((m) => m.seq > sub.cursor);
    if (fresh.length === 0) return;
    conn.pushMsgs(msgsFrameIn(conn.enc, ch, fresh), fresh.length);
    sub.cursor = fresh[fresh.length - 1]!.seq;
  }

  #unsubscribe(conn: Connection, ch: string, wasOnline = true): void {
    if (!conn.subs.has(ch)) return;
    const last = this.fanout.unsubscribe(conn, ch);
    if (wasOnline) this.actors.tell(channelActor(ch), { type: "presence", edge: this.actors.edgeId, user: conn.user, online: false });
    if (last) this.actors.tell(channelActor(ch), { type: "unsubscribe", edge: this.actors.edgeId });
  }
}

/** Creates (once) the private two-member channel of a direct conversation and returns its name. */
export async function openDm(actors: ActorGateway, user: string, other: string): Promise<string> {
  const ch = dmChannel(user, other);
  try {
    await actors.ask(channelActor(ch), { type: "create", user, visibility: "private", topic: "", members: [other] });
  } catch (err) {
    if (!(err instanceof Error && (err as { code?: string }).code === "channel_exists")) throw err;
  }
  return ch;
}
