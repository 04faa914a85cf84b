import { Emitter } from "./emitter.ts";
import type { StormClientError } from "./errors.ts";
import type { ChangeKind, ChannelInfo, Message, RequestFrame, ServerFrame } from "./protocol.ts";
import type { PublishResult } from "./publisher.ts";

/** Events of one channel. */
export interface ChannelEvents {
  /** A committed message, each exactly once and in seq order (across reconnects and transports). */
  message(msg: Message): void;
  /** Messages `lastSeen+1 … first-1` are gone from the server's history: show the gap. */
  truncated(gap: { lastSeen: number; first: number }): void;
  /**
   * A publish of this user waits for its ack (made in this tab or another; `cid` identifies it);
   * with `change`, an edit, delete or reaction of message `change.ref`.
   */
  pending(p: { cid: string; body: string; from: string | undefined; change?: { kind: ChangeKind; ref: number } }): void;
  /** A pending publish was committed as `seq`. */
  committed(c: { cid: string; seq: number }): void;
  /** A publish was refused for good (e.g. `not_member`): it left the queue. */
  failed(f: { cid: string; error: StormClientError }): void;
  presence(p: { user: string; online: boolean }): void;
  typing(t: { user: string }): void;
  member(m: { user: string; joined: boolean }): void;
  topic(t: { topic: string; user: string }): void;
}

export interface SubscribeResult {
  last: number;
  first: number;
  truncated: boolean;
}

export interface HistoryPage {
  messages: Message[];
  more: boolean;
  last: number;
}

/** What a channel handle needs from its client (internal). */
export interface ChannelHost {
  request(frame: RequestFrame): Promise<ServerFrame>;
  publish(ch: string, body: string, change?: { kind: ChangeKind; ref: number }): Promise<PublishResult>;
  subscribe(ch: string): void;
  unsubscribe(ch: string): void;
  typing(ch: string): void;
  markRead(ch: string, seq: number): void;
}

/**
 * A handle on one channel, from `client.channel(name)`. Subscribing delivers every message after
 * `lastSeq` exactly once and in order; after a reconnect (or a change of transport) the client
 * subscribes again from `lastSeq` by itself, so the application sees no gap and no repeat (G4).
 */
export class Channel extends Emitter<ChannelEvents> {
  /** The seq of the last message delivered to `message` listeners (0: none). */
  lastSeq = 0;
  #wanted = false;
  #waiters: Array<{ resolve(r: SubscribeResult): void; reject(e: StormClientError): void }> = [];

  constructor(
    readonly name: string,
    private readonly host: ChannelHost,
  ) {
    super();
  }

  /** True between `subscribe()` and `unsubscribe()` (the client keeps it across reconnects). */
  get subscribed(): boolean {
    return this.#wanted;
  }

  /**
   * Receives the channel's messages after `after` (default: `lastSeq`, i.e. where this handle left
   * off), then live ones. Resolves once the server confirmed the subscription.
   */
  subscribe(after?: number): Promise<SubscribeResult> {
    if (after !== undefined) this.lastSeq = after;
    this.#wanted = true;
    const done = new Promise<SubscribeResult>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    this.host.subscribe(this.name);
    return done;
  }

  unsubscribe(): void {
    this.#wanted = false;
    this.host.unsubscribe(this.name);
  }

  /** Publishes `body`; resolves with the committed seq. Made offline, it waits in the outbox. */
  publish(body: string): Promise<PublishResult> {
    return this.host.publish(this.name, body);
  }

  /**
   * Replaces the text of this user's message `seq`. Like a publish, the edit goes through the
   * offline queue with a client id of its own and commits exactly once, as an entry with `kind: "edit"`.
   */
  edit(seq: number, body: string): Promise<PublishResult> {
    return this.host.publish(this.name, body, { kind: "edit", ref: seq });
  }

  /** Deletes message `seq` (its author, a moderator or the owner), through the offline queue. */
  delete(seq: number): Promise<PublishResult> {
    return this.host.publish(this.name, "", { kind: "delete", ref: seq });
  }

  /** Reacts to message `seq` with `emoji` (once per user and emoji), through the offline queue. */
  react(seq: number, emoji: string): Promise<PublishResult> {
    return this.host.publish(this.name, emoji, { kind: "react", ref: seq });
  }

  /** Takes this user's reaction `emoji` to message `seq` back, through the offline queue. */
  unreact(seq: number, emoji: string): Promise<PublishResult> {
    return this.host.publish(this.name, emoji, { kind: "unreact", ref: seq });
  }

  /** A page of history: the newest `limit` before `before`, or (with `after`) the next `limit` after it. */
  async history(q: { before?: number; after?: number; limit?: number } = {}): Promise<HistoryPage> {
    const r = (await this.host.request({ t: "hist", ch: this.name, ...q })) as Extract<ServerFrame, { t: "hist" }>;
    return { messages: r.m, more: r.more, last: r.last };
  }

  async info(): Promise<ChannelInfo> {
    return ((await this.host.request({ t: "info", ch: this.name })) as Extract<ServerFrame, { t: "info" }>).info;
  }

  async members(): Promise<{ members: Record<string, "owner" | "member">; online: string[] }> {
    const r = (await this.host.request({ t: "members", ch: this.name })) as Extract<ServerFrame, { t: "members" }>;
    return { members: r.members, online: r.online };
  }

  async join(): Promise<ChannelInfo | undefined> {
    return ((await this.host.request({ t: "join", ch: this.name })) as Extract<ServerFrame, { t: "ok" }>).info;
  }

  async leave(): Promise<void> {
    this.unsubscribe();
    await this.host.request({ t: "leave", ch: this.name });
  }

  async invite(user: string): Promise<void> {
    await this.host.request({ t: "invite", ch: this.name, user });
  }

  async setTopic(topic: string): Promise<void> {
    await this.host.request({ t: "topic", ch: this.name, topic });
  }

  /** Tells the channel's live subscribers this user is typing (throttled by the client). */
  typing(): void {
    this.host.typing(this.name);
  }

  /** Moves this user's read marker forward to `seq` (all tabs and devices see it). */
  markRead(seq: number): void {
    this.host.markRead(this.name, seq);
  }

  /** @internal The server confirmed a subscription (or a stream re-confirmed it). */
  onSubbed(f: Extract<ServerFrame, { t: "subbed" }>): void {
    if (f.truncated && f.first - 1 > this.lastSeq) {
      this.emit("truncated", { lastSeen: this.lastSeq, first: f.first });
      this.lastSeq = f.first - 1;
    }
    const result = { last: f.last, first: f.first, truncated: f.truncated === true };
    for (const w of this.#waiters.splice(0)) w.resolve(result);
  }

  /** @internal The subscription was refused: the handle stops asking for it. */
  onSubFailed(err: StormClientError): void {
    this.#wanted = false;
    for (const w of this.#waiters.splice(0)) w.reject(err);
  }

  /**
   * @internal Delivers messages past `lastSeq`; repeats (a re-subscription overlapping what was
   * seen) are dropped. Returns false on a gap, which the client answers by subscribing again.
   */
  onMessages(msgs: Message[]): boolean {
    for (const m of msgs) {
      if (m.seq <= this.lastSeq) continue;
      if (m.seq !== this.lastSeq + 1) return false;
      this.lastSeq = m.seq;
      this.emit("message", m);
    }
    return true;
  }

  /** @internal An event from the server or another tab. */
  dispatch<K extends keyof ChannelEvents>(event: K, ...args: Parameters<ChannelEvents[K]>): void {
    this.emit(event, ...args);
  }
}
