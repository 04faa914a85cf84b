import type { EntryKind } from "./store.ts";

/**
 * What Storm holds about one user, read and erased across actors: the data-rights half of the
 * store (export, erasure, audit). Used from the main thread only; the actors keep using `Store`.
 *
 * Reads are keyset-paged so that a caller can stream any amount without holding it. Nothing here
 * is fenced by an epoch: writes that touch live actors' data go through the actors (`Store.eraseSender`);
 * `dropActors` is for actors whose every row must go, and fences their live activations itself.
 */
export interface UserDataStore {
  /** The user's journal entries after (`afterActor`, `afterSeq`), in (actor id, seq) order. */
  userMessages(user: string, afterActor: string, afterSeq: number, limit: number): Promise<UserMessage[]>;
  /** Channel actor ids where the user has journal entries, is a member, or is banned or muted, ascending. */
  userChannels(user: string): Promise<string[]>;
  /** Session actor ids whose stored state contains the text of `user` (a superset: callers check precisely). */
  sessionsMentioning(user: string): Promise<string[]>;
  /** Channels whose snapshot lists the user as a member, after `afterActor`, ascending. */
  memberships(user: string, afterActor: string, limit: number): Promise<Membership[]>;
  /**
   * Deletes every journal entry, snapshot and epoch row of these actors, in one transaction, and
   * raises the epoch floor past their epochs: an activation still alive is fenced at its next
   * write, and a later activation gets a greater epoch than any it had.
   */
  dropActors(actorIds: readonly string[]): Promise<{ messages: number; snapshots: number; epochs: number }>;
  recordAudit(record: AuditInput): Promise<AuditRecord>;
  listAudit(afterId: number, limit: number): Promise<AuditRecord[]>;
}

export interface UserMessage {
  actorId: string;
  seq: number;
  /** An edit, delete, reaction (`JournalEntry.kind`); absent for a message. */
  kind?: EntryKind;
  /** The message it changes, or a reply's thread root. */
  ref?: number;
  clientId: string;
  body: string;
  ts: number;
}

export interface Membership {
  actorId: string;
  role: string;
  owner: boolean;
  visibility: string;
}

export interface AuditInput {
  action: string;
  /** Who asked: `self` for a user acting on their own data (their name would be erased data), else the admin's name. */
  actor: string;
  /** A salted hash of the subject's name: lets an operator confirm a known name was erased, not recover it. */
  subjectHash: string;
  details: Record<string, number | string | boolean>;
}

export interface AuditRecord extends AuditInput {
  id: number;
  at: number;
}
