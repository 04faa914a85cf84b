/** A publish waiting for its ack: kept until the server committed it (G3: its `cid` never changes). */
import type { ChangeKind } from "./protocol.ts";

export interface OutboxEntry {
  /** The client id: a random UUID chosen once, reused by every retry, so the message commits once. */
  cid: string;
  ch: string;
  /** The text; for a reaction its emoji; `""` for a delete. */
  body: string;
  /** A change of message `ref` (edit, delete, reaction) instead of a new message. */
  change?: { kind: ChangeKind; ref: number };
  /** Order of creation across the whole outbox: entries are sent in this order. */
  n: number;
  /** Who sends it: the tab (or process) that created it, until another adopts it. */
  owner: string;
  /** The user who wrote it, when known: another user signed in on the same browser never sends it. */
  user?: string;
  createdAt: number;
}

/**
 * Durable storage for unacknowledged publishes. Guarantees the SDK relies on: `put` is durable
 * when its promise resolves (a reload or restart then finds the entry), `remove` of an unknown cid
 * is a no-op, and `list` returns every stored entry (any order; the SDK sorts by `n`). Several
 * tabs may share one store: entries carry their `owner`.
 */
export interface OutboxStore {
  list(): Promise<OutboxEntry[]>;
  put(entry: OutboxEntry): Promise<void>;
  remove(cid: string): Promise<void>;
}
