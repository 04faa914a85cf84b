import type { EdgeEvent } from "../actors/messages.ts";
import type { JournalEntry } from "../storage/store.ts";
import type { Connection, Subscription } from "./connection.ts";
import { compactMsgsFrame, msgsFrame, msgsFrameIn } from "./frames.ts";
import { SharedFrame } from "./shared_frame.ts";

const MAX_HELD = 10_000;

/**
 * The edge's local fan-out. A channel actor sends each committed batch once to this edge; here it
 * is encoded once per wire format in use (one `SharedFrame`) and queued on every subscribed socket. Per socket, a cursor makes delivery
 * exactly-once and in order: a batch is sent only past the cursor, and a socket still catching up
 * from history holds live batches until its catch-up ends (G1, G4).
 */
export class Fanout {
  readonly #byChannel = new Map<string, Set<Connection>>();
  /** A user's sockets: the connection itself while there is one (the usual case, no Set per user), a Set beyond. */
  readonly #byUser = new Map<string, Connection | Set<Connection>>();
  delivered = 0;

  /** Returns true when this is the first local socket on the channel. */
  subscribe(conn: Connection, ch: string, after: number): boolean {
    let set = this.#byChannel.get(ch);
    const first = !set;
    if (!set) this.#byChannel.set(ch, (set = new Set()));
    set.add(conn);
    conn.setSub(ch, { cursor: after, live: false, held: [], heldCount: 0, overflow: false, gen: 0, confirmed: false });
    return first;
  }

  /** Returns true when this was the last local socket on the channel. */
  unsubscribe(conn: Connection, ch: string): boolean {
    conn.deleteSub(ch);
    const set = this.#byChannel.get(ch);
    if (!set) return false;
    set.delete(conn);
    if (set.size > 0) return false;
    this.#byChannel.delete(ch);
    return true;
  }

  addUser(conn: Connection): void {
    const cur = this.#byUser.get(conn.user);
    if (!cur) this.#byUser.set(conn.user, conn);
    else if (cur instanceof Set) cur.add(conn);
    else if (cur !== conn) this.#byUser.set(conn.user, new Set([cur, conn]));
  }

  /** Returns true when this was the user's last local socket. */
  removeUser(conn: Connection): boolean {
    const cur = this.#byUser.get(conn.user);
    if (cur instanceof Set) {
      cur.delete(conn);
      if (cur.size > 1) return false;
      const [last] = cur;
      if (last) this.#byUser.set(conn.user, last);
      else this.#byUser.delete(conn.user);
      return !last;
    }
    if (cur !== conn) return false;
    this.#byUser.delete(conn.user);
    return true;
  }

  connectionsOn(ch: string): Connection[] {
    return [...(this.#byChannel.get(ch) ?? [])];
  }

  /** The sockets on `ch`, without a copy: do not subscribe or unsubscribe while iterating. */
  socketsOn(ch: string): Iterable<Connection> {
    return this.#byChannel.get(ch) ?? [];
  }

  /** Puts a live subscription back into catch-up (its channel's actor moved). */
  restartCatchUp(sub: Subscription): number {
    sub.live = false;
    sub.held = [];
    sub.heldCount = 0;
    sub.overflow = false;
    return ++sub.gen;
  }

  connectionsOf(user: string): Connection[] {
    const cur = this.#byUser.get(user);
    return !cur ? [] : cur instanceof Set ? [...cur] : [cur];
  }

  sockets(): number {
    let n = 0;
    for (const s of this.#byUser.values()) n += s instanceof Set ? s.size : 1;
    return n;
  }

  /** Subscriptions of all local streams. */
  subscriptions(): number {
    let n = 0;
    for (const s of this.#byChannel.values()) n += s.size;
    return n;
  }

  channels(): number {
    return this.#byChannel.size;
  }

  /** Channels with local streams. */
  channelNames(): string[] {
    return [...this.#byChannel.keys()];
  }

  /** Users with local streams. */
  users(): string[] {
    return [...this.#byUser.keys()];
  }

  onEvent(ev: EdgeEvent): void {
    switch (ev.type) {
      case "msgs":
        return this.#deliver(ev.ch, ev.m);
      case "user": {
        const frame = new SharedFrame(JSON.stringify({ ...ev.event, t: "user", ev: ev.event.t }));
        for (const c of this.connectionsOf(ev.user)) c.push(frame);
        return;
      }
      case "close_user":
        // The edge server closes the sockets; nothing to deliver.
        return;
      default: {
        const { type, ...rest } = ev;
        const frame = new SharedFrame(JSON.stringify({ t: type, ...rest }));
        for (const c of this.#byChannel.get(ev.ch) ?? []) if (c.subs.get(ev.ch)?.live) c.push(frame);
      }
    }
  }

  /**
   * Sends held batches past the cursor and marks the socket live. Returns false (and stays in
   * catch-up) when the held batches do not continue the cursor: the caller pages history again.
   */
  goLive(conn: Connection, ch: string, sub: Subscription): boolean {
    if (sub.overflow) {
      sub.overflow = false;
      return false;
    }
    for (const batch of sub.held) {
      if (!this.#sendPast(conn, ch, sub, batch)) return false;
    }
    sub.held = [];
    sub.heldCount = 0;
    sub.live = true;
    return true;
  }

  #deliver(ch: string, entries: JournalEntry[]): void {
    const set = this.#byChannel.get(ch);
    if (!set || entries.length === 0) return;
    const first = entries[0]!.seq;
    const last = entries[entries.length - 1]!.seq;
    // One encoding per batch and per wire format in use, shared by every socket using it.
    let shared: SharedFrame | undefined;
    let compact: SharedFrame | undefined;
    for (const conn of set) {
      const sub = conn.subs.get(ch);
      if (!sub) continue;
      // Held whatever the cursor: until the sub is answered, the cursor is only what the client
      // claimed, and a claim past the channel's end is lowered to the end (`FrameHandler`). A batch
      // dropped here for being "already seen" would then be a gap. `goLive` skips what is below.
      if (!sub.live) {
        this.#hold(sub, entries);
        continue;
      }
      if (sub.cursor >= last) continue;
      if (sub.cursor === first - 1) {
        conn.pushMsgs(
          conn.enc === "compact"
            ? (compact ??= new SharedFrame(compactMsgsFrame(ch, entries)))
            : (shared ??= new SharedFrame(msgsFrame(ch, entries))),
          entries.length,
          entries[0]!.ts,
        );
        sub.cursor = last;
        this.delivered += entries.length;
      } else if (!this.#sendPast(conn, ch, sub, entries)) {
        // A gap means this socket missed a batch: it cannot be repaired silently, so it resumes.
        conn.close(4100, "slow_consumer");
      }
    }
  }

  #hold(sub: Subscription, entries: JournalEntry[]): void {
    if (sub.overflow) return;
    sub.heldCount += entries.length;
    if (sub.heldCount > MAX_HELD) {
      sub.held = [];
      sub.heldCount = 0;
      sub.overflow = true;
      return;
    }
    sub.held.push(entries);
  }

  /** Sends the part of `entries` past the cursor; false when it would leave a gap. */
  #sendPast(conn: Connection, ch: string, sub: Subscription, entries: JournalEntry[]): boolean {
    const last = entries[entries.length - 1]!.seq;
    if (last <= sub.cursor) return true;
    const start = sub.cursor + 1 - entries[0]!.seq;
    if (start < 0) return false;
    const part = start === 0 ? entries : entries.slice(start);
    conn.pushMsgs(msgsFrameIn(conn.enc, ch, part), part.length, part[0]!.ts);
    sub.cursor = last;
    this.delivered += part.length;
    return true;
  }
}
