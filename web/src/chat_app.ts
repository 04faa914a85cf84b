import { type Channel, RejectedError, type StormClient } from "../../client/index.ts";
import { ChatStore } from "./chat_store.ts";
import { HELP, parseCommand } from "../../client/chat_commands.ts";

const PAGE = 50;

/**
 * The chat's behaviour: keeps the store in step with the SDK's events (messages, pending
 * publishes of every tab, read markers, presence, typing, topic, the channel list) and runs the
 * composer's commands. Rendering is `views.ts`'s business.
 */
export class ChatApp {
  readonly store: ChatStore;
  /** The seq of the open channel's message the composer edits (undefined: it writes a new one). */
  editing: number | undefined;
  readonly #wired = new Set<string>();
  /** The composer's commands, run one after another in the order typed. */
  #commands: Promise<void> = Promise.resolve();

  constructor(readonly client: StormClient) {
    this.store = new ChatStore();
    client.on("welcome", (w) => {
      this.store.me = w.user;
      for (const ch of w.channels) void this.#load(ch);
      for (const ch of [...this.store.channels.keys()]) if (!w.channels.includes(ch)) this.store.remove(ch);
      for (const [ch, seq] of Object.entries(w.reads)) this.store.setRead(ch, seq);
      for (const ch of w.channels) this.store.setCounts(ch, w.unread[ch] ?? 0, w.mentions[ch] ?? 0);
      this.store.changed();
    });
    client.on("channels", ({ ch, joined }) => {
      if (joined) void this.#load(ch);
      else {
        this.client.channel(ch).unsubscribe();
        this.store.remove(ch);
        this.store.changed();
      }
    });
    client.on("read", ({ ch, seq }) => {
      this.store.setRead(ch, seq);
      this.store.changed();
    });
    client.on("status", () => this.store.changed());
  }

  select(ch: string): void {
    this.editing = undefined;
    this.store.current = ch;
    this.store.notice = "";
    this.markCurrentRead();
    this.store.changed();
  }

  /** The open channel has been seen up to its last message (when the page is visible). */
  markCurrentRead(): void {
    const ch = this.store.current;
    if (!ch || document.visibilityState !== "visible") return;
    const last = this.store.lastSeq(ch);
    const c = this.store.channels.get(ch);
    if (c && last > c.read) {
      this.store.setRead(ch, last);
      this.client.channel(ch).markRead(last);
    }
  }

  async loadOlder(ch: string): Promise<void> {
    const first = this.store.firstSeq(ch);
    if (first === undefined || first <= 1) return;
    const page = await this.client.channel(ch).history({ before: first, limit: PAGE });
    this.store.addMessages(ch, page.messages, false);
    this.store.channels.get(ch)!.more = page.more;
    this.store.changed();
  }

  /**
   * Edits, deletes or reacts to message `seq` of the open channel. Like a publish, the change
   * waits in the offline queue while disconnected and commits once; the list shows it when its
   * entry arrives, like everyone else's.
   */
  change(seq: number, what: { kind: "edit"; body: string } | { kind: "delete" } | { kind: "react" | "unreact"; emoji: string }): void {
    const ch = this.store.current;
    if (!ch) return;
    const channel = this.client.channel(ch);
    const done = what.kind === "edit" ? channel.edit(seq, what.body) : what.kind === "delete" ? channel.delete(seq) : channel[what.kind](seq, what.emoji);
    done.catch((err: Error) => {
      this.store.notice = `Cannot ${what.kind}: ${err.message}`;
      this.store.changed();
    });
  }

  typing(): void {
    if (this.store.current) this.client.channel(this.store.current).typing();
  }

  /**
   * Runs one composer line after the lines typed before it (a `/join` then a message goes to the
   * joined channel; two `/join`s open the second); problems end up in `store.notice`.
   */
  submit(line: string): Promise<void> {
    const run = this.#commands.then(() => this.#run(line));
    this.#commands = run.catch(() => {});
    return run;
  }

  async #run(line: string): Promise<void> {
    if (this.editing !== undefined) {
      const seq = this.editing;
      this.editing = undefined;
      if (line.trim()) this.change(seq, { kind: "edit", body: line });
      return this.store.changed();
    }
    const cmd = parseCommand(line);
    const ch = this.store.current;
    this.store.notice = "";
    try {
      switch (cmd.kind) {
        case "say":
        case "me":
          if (!cmd.text) return;
          if (!ch) throw new Error("Join a channel first: /join #general");
          void this.client.channel(ch).publish(cmd.kind === "me" ? `/me ${cmd.text}` : cmd.text).catch(() => {});
          return;
        case "join":
          await this.join(cmd.ch);
          return;
        case "leave":
          if (ch) await this.leave(ch);
          return;
        case "msg":
          await this.openDm(cmd.user);
          void this.client.channel(this.store.current!).publish(cmd.text).catch(() => {});
          return;
        case "topic":
          if (!ch) throw new Error("Join a channel first");
          await this.client.channel(ch).setTopic(cmd.topic);
          return;
        case "help":
          this.store.notice = HELP;
          return;
        case "invalid":
          this.store.notice = cmd.message;
          return;
      }
    } catch (err) {
      this.store.notice = (err as Error).message;
    } finally {
      this.store.changed();
    }
  }

  /** Opens the direct conversation with `user`. */
  async openDm(user: string): Promise<void> {
    const dm = await this.client.dm(user);
    await this.#load(dm);
    this.select(dm);
  }

  /** Joins `name`, creating it when it does not exist yet (as IRC's /join does), and opens it. */
  async join(name: string): Promise<void> {
    try {
      await this.client.channel(name).join();
    } catch (err) {
      if (!(err instanceof RejectedError && err.code === "channel_not_found")) throw err;
      await this.client.createChannel(name);
    }
    await this.#load(name);
    this.select(name);
  }

  async leave(name: string): Promise<void> {
    await this.client.channel(name).leave();
    this.store.remove(name);
    this.store.changed();
  }

  /** Shows a channel: its newest page, then live messages from there; idempotent. */
  async #load(name: string): Promise<void> {
    const view = this.store.add(name);
    const channel = this.client.channel(name);
    this.#wire(channel);
    if (view.loaded || channel.subscribed) return;
    view.loaded = true;
    try {
      const page = await channel.history({ limit: PAGE });
      this.store.addMessages(name, page.messages, false);
      view.more = page.more;
      view.fetched = true;
      await channel.subscribe(page.last);
      const [info, members] = await Promise.all([channel.info(), channel.members()]);
      view.topic = info.topic;
      view.online = new Set(members.online);
    } catch (err) {
      // Not loaded: the next welcome (after a reconnect) tries again.
      view.loaded = false;
      this.store.notice = `Cannot open ${this.store.label(name)}: ${(err as Error).message}`;
    }
    if (name === this.store.current) this.markCurrentRead();
    this.store.changed();
  }

  #wire(channel: Channel): void {
    if (this.#wired.has(channel.name)) return;
    this.#wired.add(channel.name);
    const ch = channel.name;
    const s = this.store;
    channel.on("message", (m) => {
      s.addMessages(ch, [m], true);
      s.channels.get(ch)?.typing.delete(m.from);
      if (ch === s.current) this.markCurrentRead();
      s.changed();
    });
    channel.on("pending", (p) => {
      // A change shows once committed, on the message it changes.
      if (p.change) return;
      s.addPending(ch, p.cid, p.from ?? s.me, p.body);
      s.changed();
    });
    channel.on("failed", (f) => {
      s.fail(ch, f.cid);
      s.notice = `Not sent: ${f.error.message}`;
      s.changed();
    });
    channel.on("presence", ({ user, online }) => {
      const v = s.channels.get(ch);
      if (v) online ? v.online.add(user) : v.online.delete(user);
      s.changed();
    });
    channel.on("typing", ({ user }) => {
      if (user === s.me) return;
      s.channels.get(ch)?.typing.set(user, Date.now() + 4_000);
      s.changed();
    });
    channel.on("topic", ({ topic }) => {
      const v = s.channels.get(ch);
      if (v) v.topic = topic;
      s.changed();
    });
    channel.on("truncated", ({ lastSeen, first }) => {
      s.notice = `${s.label(ch)}: messages ${lastSeen + 1}-${first - 1} are no longer kept by the server`;
      s.changed();
    });
  }
}
