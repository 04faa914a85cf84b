import { Backoff } from "./backoff.ts";
import { RejectedError, RetryableError, type StormClientError } from "./errors.ts";
import type { OutboxEntry, OutboxStore } from "./outbox.ts";
import type { ChangeKind, RequestFrame } from "./protocol.ts";

export interface PublishResult {
  ch: string;
  cid: string;
  seq: number;
  /** The server had already committed this client id (a retry after a lost ack). */
  dup: boolean;
}

export interface PublisherDeps {
  outbox: OutboxStore;
  /** This tab's (or process's) id: the owner of the entries it creates. */
  owner: string;
  now(): number;
  uuid(): string;
  random(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  /** True while a connection is open: pumping stops when it closes and starts again on reconnect. */
  ready(): boolean;
  /** Sends one `pub` on the open connection; resolves with its ack, rejects with a typed error. */
  send(entry: OutboxEntry): Promise<{ seq: number; dup: boolean }>;
  /** A new entry was queued (the UI shows it as pending). */
  queued(entry: OutboxEntry): void;
  committed(entry: OutboxEntry, result: PublishResult): void;
  failed(entry: OutboxEntry, err: StormClientError): void;
}

interface Queued {
  entry: OutboxEntry;
  /** Settles once the entry is in the outbox: it is not sent before it is stored. */
  stored: Promise<void>;
  waiter?: { resolve(r: PublishResult): void; reject(e: StormClientError): void };
}

/**
 * The offline queue. A publish is stored in the outbox first, with a client id chosen once, then
 * sent; it leaves the outbox only when acknowledged (or refused for good). Each channel's entries
 * are sent one at a time, in creation order, so a sender's messages commit in the order they were
 * written even across retries and reconnects; a retry re-sends the same client id, so each commits
 * exactly once (G3).
 */
export class Publisher {
  readonly #queues = new Map<string, Queued[]>();
  readonly #busy = new Set<string>();
  readonly #retry = new Map<string, Backoff>();
  #n = 0;

  constructor(private readonly d: PublisherDeps) {}

  /** Entries in the queue of `ch`, oldest first (not yet acknowledged). */
  pending(ch: string): OutboxEntry[] {
    return (this.#queues.get(ch) ?? []).map((q) => q.entry);
  }

  /** Queues a new message (or, with `change`, a change of message `change.ref`); resolves when it is committed. */
  publish(ch: string, body: string, user: string | undefined, change?: { kind: ChangeKind; ref: number }): Promise<PublishResult> {
    const entry: OutboxEntry = { cid: this.d.uuid(), ch, body, n: this.#n++, owner: this.d.owner, createdAt: this.d.now(), ...(user ? { user } : {}), ...(change ? { change } : {}) };
    const done = new Promise<PublishResult>((resolve, reject) => {
      this.#enqueue({ entry, stored: this.d.outbox.put(entry), waiter: { resolve, reject } });
    });
    this.d.queued(entry);
    return done;
  }

  /**
   * Takes stored entries into the queue (this process's after a restart, or a closed tab's), in
   * their creation order; entries already queued are skipped. Adopted entries are re-owned first.
   */
  async restore(entries: OutboxEntry[]): Promise<void> {
    const known = new Set([...this.#queues.values()].flat().map((q) => q.entry.cid));
    for (const e of [...entries].sort((a, b) => a.n - b.n)) {
      if (known.has(e.cid)) continue;
      const entry = e.owner === this.d.owner ? e : { ...e, owner: this.d.owner };
      this.#n = Math.max(this.#n, entry.n + 1);
      this.#enqueue({ entry, stored: entry === e ? Promise.resolve() : this.d.outbox.put(entry) });
    }
  }

  /** A connection opened: send what waits. */
  pumpAll(): void {
    for (const ch of this.#queues.keys()) void this.#pump(ch);
  }

  #enqueue(q: Queued): void {
    let list = this.#queues.get(q.entry.ch);
    if (!list) this.#queues.set(q.entry.ch, (list = []));
    list.push(q);
    void this.#pump(q.entry.ch);
  }

  async #pump(ch: string): Promise<void> {
    if (this.#busy.has(ch)) return;
    this.#busy.add(ch);
    try {
      const list = this.#queues.get(ch)!;
      while (list.length > 0 && this.d.ready()) {
        const q = list[0]!;
        try {
          await q.stored;
          const ack = await this.d.send(q.entry);
          this.#retryOf(ch).reset();
          this.#settle(list, q);
          const result = { ch, cid: q.entry.cid, seq: ack.seq, dup: ack.dup };
          this.d.committed(q.entry, result);
          q.waiter?.resolve(result);
        } catch (err) {
          const e = err instanceof RejectedError || err instanceof RetryableError ? err : undefined;
          if (e instanceof RejectedError) {
            this.#settle(list, q);
            this.d.failed(q.entry, e);
            q.waiter?.reject(e);
          } else if (e instanceof RetryableError) {
            await new Promise<void>((r) => this.d.setTimeout(r, this.#retryOf(ch).next() ?? 0));
          } else {
            // Disconnected: the entry stays first in line; the next connection sends it again.
            return;
          }
        }
      }
    } finally {
      this.#busy.delete(ch);
      const left = this.#queues.get(ch)?.length ?? 0;
      if (left === 0) this.#queues.delete(ch);
      // A connection that opened while this pump waited for the old one's answer finds it busy: go on.
      else if (this.d.ready()) this.d.setTimeout(() => void this.#pump(ch), this.#retryOf(ch).next() ?? 0);
    }
  }

  #settle(list: Queued[], q: Queued): void {
    list.shift();
    void this.d.outbox.remove(q.entry.cid);
  }

  #retryOf(ch: string): Backoff {
    let b = this.#retry.get(ch);
    if (!b) this.#retry.set(ch, (b = new Backoff({ baseMs: 100, maxMs: 5_000 }, this.d.random)));
    return b;
  }
}

/** The request that sends an outbox entry: a `pub`, or the `edit`/`delete`/`react`/`unreact` it stands for. */
export function publishFrame(e: OutboxEntry): RequestFrame {
  const { ch, cid, body } = e;
  if (!e.change) return { t: "pub", ch, cid, body };
  const { kind, ref: seq } = e.change;
  if (kind === "edit") return { t: "edit", ch, seq, cid, body };
  if (kind === "delete") return { t: "delete", ch, seq, cid };
  return { t: kind, ch, seq, cid, emoji: body };
}
