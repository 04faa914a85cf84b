import type { CommitStatsSnapshot } from "./commit_stats.ts";

/**
 * The store contract: every durable fact of Storm goes through it.
 *
 * Guarantees every implementation gives (the conformance suite in `store_conformance.ts` checks them):
 * - `acquireEpoch` is atomic: it returns an epoch strictly greater than any epoch ever returned for
 *   that actor, and from the moment it returns, writes made with any older epoch are rejected.
 * - `append` is all-or-nothing and conditional: either every entry is committed (and durable when the
 *   promise resolves) or none is. It commits nothing when `epoch` is not the actor's current epoch
 *   (`fenced`) or when one of the client ids is already in the journal (`duplicate`, with the seqs
 *   those ids were first committed under). Seqs must continue the journal without a gap.
 * - `saveSnapshot` is conditional on the epoch in the same way.
 * - Reads return committed data only, in ascending `seq`.
 */
/** What `acquireEpoch` returns. */
export interface EpochGrant {
  epoch: number;
  /**
   * No epoch was held for the actor before (never activated, or erased since): nothing of it is
   * stored, since every write needs a current epoch, so its activation need not read any state.
   * Admission relies on it: a new user's session skips its snapshot read.
   */
  first: boolean;
}

export interface Store {
  /** Fences every earlier activation of `actorId` and returns the new, strictly greater epoch. */
  acquireEpoch(actorId: string, owner: string): Promise<number>;
  /** `acquireEpoch`, saying too whether it is the actor's first (an activation's way in). */
  acquireEpochGrant(actorId: string, owner: string): Promise<EpochGrant>;
  /** The current epoch and owner of an actor, or null if it was never activated. */
  currentEpoch(actorId: string): Promise<{ epoch: number; owner: string } | null>;
  append(actorId: string, epoch: number, entries: readonly JournalEntry[]): Promise<AppendOutcome>;
  /** Entries with `seq > afterSeq`, ascending, at most `limit`. */
  readAfter(actorId: string, afterSeq: number, limit: number): Promise<JournalEntry[]>;
  /** The last `limit` entries with `seq < beforeSeq`, ascending (backward history paging). */
  readBefore(actorId: string, beforeSeq: number, limit: number): Promise<JournalEntry[]>;
  /** First and last retained seq; `{ first: 0, last: 0 }` for an empty journal. */
  bounds(actorId: string): Promise<JournalBounds>;
  /** Seqs under which these client ids were committed (ids never committed are absent). */
  findClientIds(actorId: string, clientIds: readonly string[]): Promise<Map<string, number>>;
  /**
   * Retention: drops a prefix of the journal (see `TrimRule`) and records how far it reaches, in
   * one conditional statement. Never drops the last entry. Returns the floor (every seq at or below
   * it is gone, on purpose), or null when fenced (nothing dropped).
   */
  trim(actorId: string, epoch: number, rule: TrimRule): Promise<number | null>;
  /**
   * Erasure: turns every entry of `user` into a tombstone (seq and ts kept; sender, body and
   * client id gone), conditional on the epoch. Returns how many, or null when fenced.
   */
  eraseSender(actorId: string, epoch: number, user: string): Promise<number | null>;
  /** Writes the actor's snapshot; returns false (and writes nothing) when fenced. */
  saveSnapshot(actorId: string, epoch: number, snapshot: Snapshot): Promise<boolean>;
  loadSnapshot(actorId: string): Promise<Snapshot | null>;
  /** Entries whose `ref` is one of `refs` (edits, deletes, reactions of those seqs, replies to them), ascending. */
  readRefs(actorId: string, refs: readonly number[]): Promise<JournalEntry[]>;
  /**
   * Per channel: its last seq and how many plain messages from others follow the read marker
   * `after`, counting at most `cap` (an unread badge says "99+", it does not need the exact number).
   */
  unread(user: string, marks: readonly ReadMark[], cap: number): Promise<UnreadCount[]>;
  /**
   * Full-text search (PostgreSQL's `websearch_to_tsquery`, configuration `simple`) over the current
   * version of the messages of every channel whose latest snapshot lists `user` as a member: a
   * channel the user cannot read is never searched. Newest first; `before` is the `next` of the
   * previous page.
   */
  search(user: string, query: string, before: string | undefined, limit: number): Promise<SearchPage>;
  /** Snapshots whose actor id starts with `prefix`, ordered by actor id, after `afterId`. */
  listSnapshots(prefix: string, afterId: string, limit: number): Promise<Array<{ actorId: string; snapshot: Snapshot }>>;
  /** What the store's group commit did, when this store runs one in this thread (`GET /metrics`). */
  commitStats?(): CommitStatsSnapshot;
  close(): Promise<void>;
}

export interface JournalEntry {
  seq: number;
  /** What the entry is; absent for a plain message (`msg`), so plain entries stay as they were. */
  kind?: EntryKind;
  /**
   * The seq this entry refers to: the message an `edit`, `delete`, `react` or `unreact` changes,
   * or, on a `msg`, the root of the thread it replies to. Always lower than `seq`.
   */
  ref?: number;
  /** Client-chosen id, unique per actor: the key of exactly-once append (G3). */
  clientId: string;
  sender: string;
  body: string;
  /** Server time of acceptance, ms since epoch. */
  ts: number;
}

/**
 * A message (`msg`), or a change to an earlier one, journaled with a seq of its own so that order
 * and resume (G1-G4) cover changes exactly as messages: `edit` (body: the new text), `delete`
 * (body empty), `react` / `unreact` (body: the emoji).
 */
export type EntryKind = "msg" | "edit" | "delete" | "react" | "unreact";

export const ENTRY_KINDS: readonly EntryKind[] = ["msg", "edit", "delete", "react", "unreact"];

export interface ReadMark {
  actorId: string;
  after: number;
}

export interface UnreadCount {
  actorId: string;
  last: number;
  unread: number;
}

export interface SearchHit {
  /** The channel's actor id. */
  actorId: string;
  /** The message's seq (for a hit in an edit, the seq of the message it edited). */
  seq: number;
  sender: string;
  /** The message's current text. */
  body: string;
  /** When this text was committed (the edit's time for an edited message). */
  ts: number;
  edited: boolean;
}

export interface SearchPage {
  hits: SearchHit[];
  /** Pass as `before` for the next (older) page; absent on the last page. */
  next?: string;
}

export type AppendOutcome =
  | { ok: true }
  | { ok: false; reason: "fenced" }
  | { ok: false; reason: "duplicate"; existing: Map<string, number> }
  | { ok: false; reason: "conflict" };

/**
 * What a trim may drop: entries with `seq <= uptoSeq`, and (when `olderThan` is set) entries
 * accepted before `olderThan`; but never one accepted at or after `keepSince`, nor the last entry.
 * Times are ms since epoch, from the entries' `ts`.
 */
export interface TrimRule {
  uptoSeq: number;
  olderThan?: number;
  keepSince: number;
}

/** A tombstone (an erased user's entry) has an empty sender; no nickname is empty. */
export function isTombstone(e: Pick<JournalEntry, "sender">): boolean {
  return e.sender === "";
}

/**
 * The tombstone of an entry, as `eraseSender` writes it: seq and ts kept, sender and body empty,
 * and a client id longer than any a client may send (64), unique per seq. Kind and ref are kept:
 * an erased edit, reaction or reply still says what it was and which seq it was about (no name, no
 * content), so that a moderator's erased delete still deletes and a thread keeps its shape.
 */
export function tombstoneOf(e: JournalEntry): JournalEntry {
  const t: JournalEntry = { seq: e.seq, clientId: `erased:${String(e.seq).padStart(64, "0")}`, sender: "", body: "", ts: e.ts };
  if (e.kind !== undefined) t.kind = e.kind;
  if (e.ref !== undefined) t.ref = e.ref;
  return t;
}

export interface JournalBounds {
  first: number;
  last: number;
}

export interface Snapshot {
  /** The last journal seq the state includes. */
  seq: number;
  state: unknown;
  /**
   * Changes this snapshot makes that webhooks announce (membership, presence): written in the same
   * statement as the snapshot, so an event exists exactly when its change was saved. Not loaded back.
   */
  events?: SnapshotEvent[];
}

/** A channel event saved with a snapshot, placed after journal seq `afterSeq` (`webhook_store.ts`). */
export interface SnapshotEvent {
  type: "membership" | "presence";
  afterSeq: number;
  payload: Record<string, unknown>;
  at: number;
}

/** One actor's conditional append: its entries, written only while `epoch` is the actor's current one. */
export interface AppendRequest {
  actorId: string;
  epoch: number;
  entries: readonly JournalEntry[];
}
