import type { Message } from "../../client/index.ts";

/** A message as the list shows it: committed (with a seq) or still waiting for its ack. */
export interface ChatMessage {
  seq: number | undefined;
  cid: string;
  from: string;
  body: string;
  ts: number;
  state: "committed" | "pending" | "failed";
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
      this.channels.set(name, (c = { name, messages: [], more: false, read: 0, topic: "", online: new Set(), typing: new Map(), loaded: false }));
      this.current ??= name;
    }
    return c;
  }

  remove(name: string): void {
    this.channels.delete(name);
    if (this.current === name) this.current = this.channels.keys().next().value;
  }

  /** Adds committed messages (any order, repeats ignored) and drops the pending copies they replace. */
  addMessages(name: string, msgs: Message[]): void {
    const c = this.channels.get(name);
    if (!c) return;
    const committed = c.messages.filter((m) => m.state === "committed");
    const seqs = new Set(committed.map((m) => m.seq));
    const cids = new Set<string>();
    for (const m of msgs) {
      cids.add(m.cid);
      if (seqs.has(m.seq)) continue;
      seqs.add(m.seq);
      committed.push({ seq: m.seq, cid: m.cid, from: m.from, body: m.body, ts: m.ts, state: "committed" });
    }
    committed.sort((a, b) => a.seq! - b.seq!);
    c.messages = [...committed, ...c.messages.filter((m) => m.state !== "committed" && !cids.has(m.cid))];
  }

  addPending(name: string, cid: string, from: string, body: string): void {
    const c = this.channels.get(name);
    if (!c || c.messages.some((m) => m.cid === cid)) return;
    c.messages.push({ seq: undefined, cid, from, body, ts: Date.now(), state: "pending" });
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

  /** Messages from others after the read marker (among those loaded). */
  unread(name: string): number {
    const c = this.channels.get(name);
    if (!c) return 0;
    return c.messages.filter((m) => m.state === "committed" && m.seq! > c.read && m.from !== this.me).length;
  }

  /** The label of a channel: `#name`, or `@other` for a direct conversation. */
  label(name: string): string {
    if (!name.startsWith("dm:")) return `#${name}`;
    const [, a, b] = name.split(":");
    return `@${a === this.me ? b : a}`;
  }
}
