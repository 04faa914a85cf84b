import type { Message } from "../../client/index.ts";

/** A message as the list shows it, in its current version: committed (with a seq) or still waiting for its ack. */
export interface ChatMessage {
  seq: number | undefined;
  cid: string;
  from: string;
  body: string;
  ts: number;
  state: "committed" | "pending" | "failed";
  edited?: boolean;
  deleted?: boolean;
  /** Users per emoji. */
  reactions: Record<string, number>;
}

export interface ChannelView {
  name: string;
  /** Committed messages by seq (ascending), then pending ones in the order written. */
  messages: ChatMessage[];
  /** Older messages exist before the first one loaded. */
  more: boolean;
  read: number;
  topic: string;
  online: Set<string>;
  /** Who is typing, until when (ms). */
  typing: Map<string, number>;
  loaded: boolean;
  /** The first history page has arrived. */
  fetched: boolean;
  /** The server's counts from `welcome`, valid while the read marker stays at `read`. */
  counts: { unread: number; mentions: number; read: number } | undefined;
  /** Seqs of change entries already reflected (applied live, or part of a history page's current versions). */
  changes: Set<number>;
  /** Live reactions seen, `seq emoji user`: a user's reaction counts once. */
  reactors: Set<string>;
}

/**
 * The app's state: the user's channels and what each shows. Every message is keyed by seq and
 * every pending one by client id, so a message that arrives twice (resume overlap, another tab,
 * a retried publish) is shown once, and a pending one is replaced by its committed self.
 */
export class ChatStore {
  readonly channels = new Map<string, ChannelView>();
  current: string | undefined;
  notice = "";
  readonly #listeners = new Set<() => void>();

  /** The signed-in user (set by the first welcome). */
  me = "";

  onChange(fn: () => void): void {
    this.#listeners.add(fn);
  }

  changed(): void {
    for (const fn of this.#listeners) fn();
  }

  add(name: string): ChannelView {
    let c = this.channels.get(name);
    if (!c) {
      this.channels.set(name, (c = { name, messages: [], more: false, read: 0, topic: "", online: new Set(), typing: new Map(), loaded: false, fetched: false, counts: undefined, changes: new Set(), reactors: new Set() }));
      this.current ??= name;
    }
    return c;
  }

  remove(name: string): void {
    this.channels.delete(name);
    if (this.current === name) this.current = this.channels.keys().next().value;
  }

  /**
   * Adds committed entries (any order, repeats ignored) and drops the pending copies they replace.
   * Messages are shown; changes (edit, delete, react, unreact) are applied to the message they
   * refer to when `live`, while a history page's messages are already in their current version.
   */
  addMessages(name: string, msgs: Message[], live: boolean): void {
    const c = this.channels.get(name);
    if (!c) return;
    const committed = c.messages.filter((m) => m.state === "committed");
    const seqs = new Set(committed.map((m) => m.seq));
    const cids = new Set<string>();
    for (const m of msgs) {
      cids.add(m.cid);
      if (m.kind !== undefined) {
        if (!c.changes.has(m.seq) && live) this.#apply(c, committed, m);
        c.changes.add(m.seq);
        continue;
      }
      if (seqs.has(m.seq)) continue;
      seqs.add(m.seq);
      committed.push({ seq: m.seq, cid: m.cid, from: m.from, body: m.body, ts: m.ts, state: "committed", reactions: { ...m.reactions }, ...(m.edited ? { edited: true } : {}), ...(m.deleted ? { deleted: true } : {}) });
    }
    committed.sort((a, b) => a.seq! - b.seq!);
    c.messages = [...committed, ...c.messages.filter((m) => m.state !== "committed" && !cids.has(m.cid))];
  }

  #apply(c: ChannelView, committed: ChatMessage[], e: Message): void {
    const m = committed.find((x) => x.seq === e.ref);
    if (!m) return;
    if (e.kind === "edit") Object.assign(m, { body: e.body, edited: true });
    else if (e.kind === "delete") Object.assign(m, { body: "", deleted: true, reactions: {} });
    else {
      const key = `${e.ref} ${e.body} ${e.from}`;
      const on = e.kind === "react";
      if (c.reactors.has(key) === on) return;
      if (on) c.reactors.add(key);
      else c.reactors.delete(key);
      const n = (m.reactions[e.body] ?? 0) + (on ? 1 : -1);
      if (n > 0) m.reactions[e.body] = n;
      else delete m.reactions[e.body];
    }
  }

  addPending(name: string, cid: string, from: string, body: string): void {
    const c = this.channels.get(name);
    if (!c || c.messages.some((m) => m.cid === cid)) return;
    c.messages.push({ seq: undefined, cid, from, body, ts: Date.now(), state: "pending", reactions: {} });
  }

  fail(name: string, cid: string): void {
    const m = this.channels.get(name)?.messages.find((x) => x.cid === cid && x.state === "pending");
    if (m) m.state = "failed";
  }

  lastSeq(name: string): number {
    const c = this.channels.get(name);
    const last = c?.messages.filter((m) => m.state === "committed").at(-1);
    return last?.seq ?? 0;
  }

  firstSeq(name: string): number | undefined {
    return this.channels.get(name)?.messages.find((m) => m.state === "committed")?.seq;
  }

  /** Forgets typing indicators past their time; true when one went. */
  expireTyping(now: number): boolean {
    let gone = false;
    for (const c of this.channels.values()) {
      for (const [user, until] of c.typing) if (until <= now) gone = c.typing.delete(user) || gone;
    }
    return gone;
  }

  setRead(name: string, seq: number): void {
    const c = this.channels.get(name);
    if (c && seq > c.read) c.read = seq;
  }

  /** The server's unread and mention counts of `welcome` (shown until the loaded messages tell more). */
  setCounts(name: string, unread: number, mentions: number): void {
    const c = this.channels.get(name);
    if (c) c.counts = { unread, mentions, read: c.read };
  }

  /** Messages from others after the read marker. */
  unread(name: string): number {
    return this.#count(name, () => true, "unread");
  }

  /** Messages from others after the read marker that mention this user (`@me`). */
  mentions(name: string): number {
    const at = new RegExp(`(^|[^\\w@.])@${this.me.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\w-])`);
    return this.#count(name, (m) => at.test(m.body), "mentions");
  }

  /**
   * Counts loaded messages from others after the marker; while those do not reach back to the
   * marker (the first page not in yet, or older unread ones not loaded), the server's count from
   * `welcome` is the better one, as long as the marker has not moved since.
   */
  #count(name: string, match: (m: ChatMessage) => boolean, which: "unread" | "mentions"): number {
    const c = this.channels.get(name);
    if (!c) return 0;
    const n = c.messages.filter((m) => m.state === "committed" && m.seq! > c.read && m.from !== this.me && !m.deleted && match(m)).length;
    const first = this.firstSeq(name);
    const covers = c.fetched && (!c.more || (first !== undefined && first <= c.read + 1));
    return !covers && c.counts && c.counts.read === c.read ? Math.max(n, c.counts[which]) : n;
  }

  /** The label of a channel: `#name`, or `@other` for a direct conversation. */
  label(name: string): string {
    if (!name.startsWith("dm:")) return `#${name}`;
    const [, a, b] = name.split(":");
    return `@${a === this.me ? b : a}`;
  }
}
