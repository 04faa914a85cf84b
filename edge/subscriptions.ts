import type { SubscribeReply } from "../actors/messages.ts";
import { TaskPool } from "../lib/task_pool.ts";
import { RejectedError } from "../runtime/core/errors.ts";
import type { Connection, Subscription } from "./connection.ts";
import type { Fanout } from "./fanout.ts";
import { msgsFrameIn, replyFrame } from "./frames.ts";
import { type ActorGateway, channelActor, sessionActor } from "./gateway.ts";

const PAGE = 500;

/**
 * How long a stream waits before its next try to register with a channel's new activation, or
 * undefined: give up and close the socket 4100 so the client resumes by itself. Exponential with
 * jitter (half to all of 100 ms × 2^attempt, at most 4 s), about 11-22 s in all: after a rejoin or
 * a failover every stream of the node resubscribes at once, and new activations on 2 busy cores
 * took longer than the 3.1 s the first schedule allowed (Storm Day at 10,000 users, BENCHMARKS.md),
 * so streams gave up, their clients reconnected, and the reconnects piled onto the same nodes.
 */
export function resubscribeDelay(attempt: number, random: () => number = Math.random): number | undefined {
  if (attempt >= RESUBSCRIBE_TRIES) return undefined;
  return Math.min(4_000, 100 * 2 ** attempt) * (0.5 + random() / 2);
}

/** Tries after the first failure before a stream gives up. */
export const RESUBSCRIBE_TRIES = 10;

/**
 * Channels and sessions brought back at once after a rejoin (each a store read and a registry
 * write when its actor is activated). Everything at once was the herd that stalled acks 38 s at
 * 10,000 users (Storm Day, BENCHMARKS.md); new work (publishes, new subscriptions) is not queued
 * behind these.
 */
export const RESUME_CONCURRENCY = 32;

/**
 * Subscribe and resume (G4) for every streaming transport. A `Connection` is the stream, whatever
 * its sink (a WebSocket, an SSE response, a waiting long-poll request): the same cursor, the same
 * catch-up from history, the same move to a new activation. No transport has a second copy of this.
 */
export class Subscriptions {
  /** Per channel, the newest activation epoch this edge is registered with. */
  readonly #epochs = new Map<string, number>();
  /** Streams that do not announce presence: a long-poll would flap online/offline at every poll. */
  readonly #quiet = new WeakSet<Connection>();
  /** Set while the node holds no cluster lease: streams stay open, resubscribing waits for `resume`. */
  #suspended = false;
  /** Paces a rejoin's resubscriptions and session registrations. */
  readonly #resumes: TaskPool;
  /** Channels queued in `#resumes` that nothing has resubscribed yet (a move does it first: then it is skipped). */
  readonly #resuming = new Set<string>();

  constructor(
    private readonly actors: ActorGateway,
    private readonly fanout: Fanout,
    resumeConcurrency = RESUME_CONCURRENCY,
  ) {
    this.#resumes = new TaskPool(resumeConcurrency);
  }

  /**
   * Subscribe with resume (G4): registers for live batches first, then pages history from `after`
   * up to the actor's last seq, then releases the live batches held meanwhile. No gap, no duplicate.
   * The `subbed` frame carries `id` when given (WebSocket); the HTTP streams send it without, and
   * learn from `confirmed` that it was sent (the promise itself settles after the catch-up).
   */
  async subscribe(conn: Connection, id: number | undefined, ch: string, after: number, confirmed?: () => void): Promise<void> {
    if (conn.subs.has(ch)) this.unsubscribe(conn, ch);
    this.fanout.subscribe(conn, ch, after);
    const sub = conn.subs.get(ch)!;
    const edge = this.actors.edgeId;
    let page: SubscribeReply;
    try {
      page = await this.actors.ask<SubscribeReply>(channelActor(ch), { type: "subscribe", user: conn.user, edge, after, limit: PAGE });
    } catch (err) {
      this.unsubscribe(conn, ch, false);
      throw err;
    }
    if (conn.subs.get(ch) !== sub) throw new RejectedError("bad_request", `Subscription to "${ch}" was replaced by a later sub or unsub`);
    // The channel may have moved while this sub was pending (moves skip unconfirmed subs), or the
    // node rejoined as a new incarnation (an ask made without a lease waits for the rejoin and
    // registers the old edge, which the channel then forgets on `edge_down`).
    const moved = (this.#epochs.get(ch) ?? 0) > (page.epoch ?? 0) || edge !== this.actors.edgeId;
    this.#noteEpoch(ch, page.epoch);
    // A position past the channel's end cannot have been seen: resume from the end instead of
    // silently skipping the messages that will take those seqs.
    if (sub.cursor > page.last) sub.cursor = page.last;
    conn.push(replyFrame("subbed", id, { ch, last: page.last, first: page.first, truncated: page.truncated || undefined }));
    sub.confirmed = true;
    confirmed?.();
    if (moved) return void this.#resubscribe(conn, ch, 0);
    this.#announce(conn, ch, true);
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
   * nothing more. Every local stream on the channel registers with the new one and resumes from
   * its cursor, so the stream continues with no gap and no duplicate.
   */
  placementChanged(ch: string, epoch: number): void {
    if ((this.#epochs.get(ch) ?? 0) >= epoch) return;
    const conns = this.fanout.connectionsOn(ch);
    if (conns.length === 0) return void this.#epochs.delete(ch);
    this.#epochs.set(ch, epoch);
    // A rejoin's queued resume of this channel would only repeat this (the new activation never
    // knew the old edge); skipped, unless the node is still suspended and this does nothing.
    if (!this.#suspended) this.#resuming.delete(ch);
    // A sub still waiting for its reply is not moved: it checks the epoch itself when answered,
    // and nothing may reach the client before its `subbed`.
    for (const conn of conns) if (conn.subs.get(ch)?.confirmed) void this.#resubscribe(conn, ch, 0);
  }

  /** The channel dropped this edge (it lagged): every confirmed stream on it resubscribes from its cursor. */
  resync(ch: string): void {
    for (const conn of this.fanout.connectionsOn(ch)) if (conn.subs.get(ch)?.confirmed) void this.#resubscribe(conn, ch, 0);
  }

  /**
   * The node lost its cluster lease: its streams stay open but nothing reaches them until `resume`
   * (the actors answer no one here meanwhile), and no resubscribe is tried, so none gives up and
   * closes its socket.
   */
  suspend(): void {
    this.#suspended = true;
    // A rejoin's resume still queued belongs to the incarnation just lost; the next resume redoes it.
    this.#resumes.clear();
    this.#resuming.clear();
  }

  /**
   * The node rejoined as a new incarnation (this edge's id changed; `oldEdge` is dead for good):
   * every stream resumes exactly as on a move. The channels and sessions that knew the old edge
   * forget it (`edge_down`: its presence goes offline, nothing more is sent to it), each user's
   * streams register with their session again, and every confirmed subscription registers with its
   * channel's activation and resumes from its cursor (no gap, no duplicate).
   *
   * Paced, not all at once: each channel (its `edge_down`, then its streams' resubscriptions) and
   * then each session is one task of a pool of `resumeConcurrency`, channels with the most local
   * streams first. Every message of a task may activate its actor (a registry claim, a store read);
   * a node's thousands at once made every one of them, and the publishes behind them, wait.
   */
  resume(oldEdge: string): void {
    this.#suspended = false;
    this.#resumes.clear();
    const byStreams = this.fanout.channelNames().map((ch) => ({ ch, n: this.fanout.connectionsOn(ch).length })).sort((a, b) => b.n - a.n);
    for (const { ch } of byStreams) {
      this.#resuming.add(ch);
      this.#resumes.add(() => this.#resumeChannel(ch, oldEdge));
    }
    for (const user of this.fanout.users()) this.#resumes.add(() => this.#resumeSession(user, oldEdge));
  }

  async #resumeChannel(ch: string, oldEdge: string): Promise<void> {
    if (!this.#resuming.delete(ch) || this.#suspended) return;
    const edgeDown = { type: "edge_down", edge: oldEdge };
    const conns = this.fanout.connectionsOn(ch).filter((c) => c.subs.get(ch)?.confirmed);
    // The task ends when the channel answered: with no stream to resubscribe, `edge_down` is asked.
    if (conns.length === 0) return void (await this.actors.ask(channelActor(ch), edgeDown).catch(() => {}));
    this.actors.tell(channelActor(ch), edgeDown);
    await Promise.all(conns.map((conn) => this.#resubscribe(conn, ch, 0)));
  }

  /** The user's session forgets the old edge and counts this edge's streams of the user again. */
  async #resumeSession(user: string, oldEdge: string): Promise<void> {
    if (this.#suspended) return;
    const edge = this.actors.edgeId;
    const open = this.fanout.connectionsOf(user).filter((c) => !this.#quiet.has(c) && !c.closed);
    const msgs = [{ type: "edge_down", edge: oldEdge }, ...open.map(() => ({ type: "connect", edge }))];
    // In order to one actor; the last one asked, so the task ends when the session has them all.
    for (const msg of msgs.slice(0, -1)) this.actors.tell(sessionActor(user), msg);
    await this.actors.ask(sessionActor(user), msgs.at(-1)!).catch(() => {});
  }

  async #resubscribe(conn: Connection, ch: string, attempt: number): Promise<void> {
    const sub = conn.subs.get(ch);
    if (!sub || conn.closed || this.#suspended) return;
    const gen = this.fanout.restartCatchUp(sub);
    try {
      const page = await this.actors.ask<SubscribeReply>(channelActor(ch), { type: "subscribe", user: conn.user, edge: this.actors.edgeId, after: sub.cursor, limit: PAGE });
      if (conn.subs.get(ch) !== sub || sub.gen !== gen) return;
      this.#noteEpoch(ch, page.epoch);
      this.#announce(conn, ch, true);
      await this.#catchUp(conn, ch, sub, page, gen);
    } catch {
      if (conn.subs.get(ch) !== sub || sub.gen !== gen || conn.closed || this.#suspended) return;
      // The new activation is not reachable yet; past the last try the client resumes by itself.
      const delay = resubscribeDelay(attempt);
      if (delay === undefined) return conn.close(4100, "slow_consumer");
      setTimeout(() => void this.#resubscribe(conn, ch, attempt + 1), delay);
    }
  }

  #noteEpoch(ch: string, epoch: number | undefined): void {
    if (epoch !== undefined && epoch > (this.#epochs.get(ch) ?? 0)) this.#epochs.set(ch, epoch);
  }

  /** A user left a channel (from any stream, any node): none of their streams here may read it. */
  userLeft(user: string, ch: string): void {
    for (const conn of this.fanout.connectionsOf(user)) this.unsubscribe(conn, ch);
  }

  #sendPage(conn: Connection, ch: string, sub: Subscription, msgs: SubscribeReply["msgs"]): void {
    const fresh = msgs.filter((m) => m.seq > sub.cursor);
    if (fresh.length === 0) return;
    conn.pushMsgs(msgsFrameIn(conn.enc, ch, fresh), fresh.length);
    sub.cursor = fresh[fresh.length - 1]!.seq;
  }

  unsubscribe(conn: Connection, ch: string, wasOnline = true): void {
    if (!conn.subs.has(ch)) return;
    const last = this.fanout.unsubscribe(conn, ch);
    if (wasOnline) this.#announce(conn, ch, false);
    if (last) this.actors.tell(channelActor(ch), { type: "unsubscribe", edge: this.actors.edgeId });
  }

  /** Marks a stream that does not count as the user being online (a long-poll request). */
  quiet(conn: Connection): void {
    this.#quiet.add(conn);
  }

  #announce(conn: Connection, ch: string, online: boolean): void {
    if (!this.#quiet.has(conn)) this.actors.tell(channelActor(ch), { type: "presence", edge: this.actors.edgeId, user: conn.user, online });
  }

  /** Forgets a closed stream everywhere: subscriptions, presence, and (when it registered) the user's session. */
  closed(conn: Connection, session = true): void {
    for (const ch of [...conn.subs.keys()]) this.unsubscribe(conn, ch);
    this.fanout.removeUser(conn);
    if (session) this.actors.tell(sessionActor(conn.user), { type: "disconnect", edge: this.actors.edgeId });
  }
}
