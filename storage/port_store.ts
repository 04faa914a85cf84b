import { StoreClosedError, storeErrorFromWire } from "./errors.ts";
import type { AppendOutcome, EpochGrant, JournalBounds, JournalEntry, ReadMark, SearchPage, Snapshot, Store, TrimRule, UnreadCount } from "./store.ts";
import type { ApiKeyRecord, ApiKeyStore } from "./api_key_store.ts";
import type { AuditInput, AuditRecord, Membership, UserDataStore, UserMessage } from "./user_data_store.ts";
import type { ChannelEvent, DeadLetter, DeadLetterInput, WebhookCursor, WebhookInput, WebhookRecord, WebhookStore } from "./webhook_store.ts";
import { TickBatcher } from "./store_protocol.ts";
import type { StoreOp, StorePort, StoreReply, StoreRequest } from "./store_protocol.ts";

interface Waiter {
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/**
 * A `Store` in an actor worker, served by `serveStore` in the storage worker at the other end of
 * `port`. It adds no guarantee and removes none: every call is answered by the served store, with
 * its outcome or its error class (`storeErrorFromWire`). Requests of one tick travel in one
 * message. `close()` stops new calls and waits for pending ones; the served store stays open (it
 * is shared by every worker) and the port stays owned by the caller.
 *
 * @example
 * const { port1, port2 } = new MessageChannel();
 * serveStore(await openPgliteStore(undefined), port1);
 * const store = new PortStore(port2);
 */
export class PortStore implements Store, UserDataStore, ApiKeyStore, WebhookStore {
  readonly #requests: TickBatcher;
  readonly #waiters = new Map<number, Waiter>();
  #nextId = 1;
  #closing: Promise<void> | null = null;
  #idle: (() => void) | null = null;

  constructor(port: StorePort) {
    this.#requests = new TickBatcher(port);
    port.on("message", (batch) => {
      if (Array.isArray(batch)) for (const reply of batch) this.#settle(reply as StoreReply);
    });
  }

  acquireEpoch(actorId: string, owner: string): Promise<number> {
    return this.#call("acquireEpoch", [actorId, owner]);
  }
  acquireEpochGrant(actorId: string, owner: string): Promise<EpochGrant> {
    return this.#call("acquireEpochGrant", [actorId, owner]);
  }
  currentEpoch(actorId: string): Promise<{ epoch: number; owner: string } | null> {
    return this.#call("currentEpoch", [actorId]);
  }
  append(actorId: string, epoch: number, entries: readonly JournalEntry[]): Promise<AppendOutcome> {
    return this.#call("append", [actorId, epoch, entries]);
  }
  readAfter(actorId: string, afterSeq: number, limit: number): Promise<JournalEntry[]> {
    return this.#call("readAfter", [actorId, afterSeq, limit]);
  }
  readBefore(actorId: string, beforeSeq: number, limit: number): Promise<JournalEntry[]> {
    return this.#call("readBefore", [actorId, beforeSeq, limit]);
  }
  bounds(actorId: string): Promise<JournalBounds> {
    return this.#call("bounds", [actorId]);
  }
  findClientIds(actorId: string, clientIds: readonly string[]): Promise<Map<string, number>> {
    return this.#call("findClientIds", [actorId, clientIds]);
  }
  trim(actorId: string, epoch: number, rule: TrimRule): Promise<number | null> {
    return this.#call("trim", [actorId, epoch, rule]);
  }
  eraseSender(actorId: string, epoch: number, user: string): Promise<number | null> {
    return this.#call("eraseSender", [actorId, epoch, user]);
  }
  userMessages(user: string, afterActor: string, afterSeq: number, limit: number): Promise<UserMessage[]> {
    return this.#call("userMessages", [user, afterActor, afterSeq, limit]);
  }
  userChannels(user: string): Promise<string[]> {
    return this.#call("userChannels", [user]);
  }
  sessionsMentioning(user: string): Promise<string[]> {
    return this.#call("sessionsMentioning", [user]);
  }
  memberships(user: string, afterActor: string, limit: number): Promise<Membership[]> {
    return this.#call("memberships", [user, afterActor, limit]);
  }
  dropActors(actorIds: readonly string[]): Promise<{ messages: number; snapshots: number; epochs: number }> {
    return this.#call("dropActors", [actorIds]);
  }
  recordAudit(record: AuditInput): Promise<AuditRecord> {
    return this.#call("recordAudit", [record]);
  }
  listAudit(afterId: number, limit: number): Promise<AuditRecord[]> {
    return this.#call("listAudit", [afterId, limit]);
  }
  createKey(key: { id: string; name: string; scopes: string[]; hash: string }): Promise<ApiKeyRecord> {
    return this.#call("createKey", [key]);
  }
  listKeys(): Promise<ApiKeyRecord[]> {
    return this.#call("listKeys", []);
  }
  revokeKey(id: string): Promise<boolean> {
    return this.#call("revokeKey", [id]);
  }
  findKey(hash: string): Promise<{ id: string; name: string; scopes: string[] } | null> {
    return this.#call("findKey", [hash]);
  }
  revokeTokens(subjectHash: string, before: number): Promise<number> {
    return this.#call("revokeTokens", [subjectHash, before]);
  }
  listRevocations(): Promise<Array<{ subjectHash: string; before: number }>> {
    return this.#call("listRevocations", []);
  }
  saveSnapshot(actorId: string, epoch: number, snapshot: Snapshot): Promise<boolean> {
    return this.#call("saveSnapshot", [actorId, epoch, snapshot]);
  }
  loadSnapshot(actorId: string): Promise<Snapshot | null> {
    return this.#call("loadSnapshot", [actorId]);
  }
  listSnapshots(prefix: string, afterId: string, limit: number): Promise<Array<{ actorId: string; snapshot: Snapshot }>> {
    return this.#call("listSnapshots", [prefix, afterId, limit]);
  }

  createWebhook(w: WebhookInput): Promise<WebhookRecord> {
    return this.#call("createWebhook", [w]);
  }
  listWebhooks(): Promise<WebhookRecord[]> {
    return this.#call("listWebhooks", []);
  }
  deleteWebhook(id: string): Promise<boolean> {
    return this.#call("deleteWebhook", [id]);
  }
  claimWebhook(id: string, owner: string, now: number, until: number): Promise<boolean> {
    return this.#call("claimWebhook", [id, owner, now, until]);
  }
  webhookCursor(id: string, actorId: string): Promise<WebhookCursor> {
    return this.#call("webhookCursor", [id, actorId]);
  }
  advanceWebhook(id: string, owner: string, actorId: string, to: WebhookCursor): Promise<boolean> {
    return this.#call("advanceWebhook", [id, owner, actorId, to]);
  }
  channelEvents(actorId: string, afterN: number, limit: number): Promise<ChannelEvent[]> {
    return this.#call("channelEvents", [actorId, afterN, limit]);
  }
  pruneChannelEvents(before: number): Promise<number> {
    return this.#call("pruneChannelEvents", [before]);
  }
  recordDeadLetter(d: DeadLetterInput): Promise<DeadLetter> {
    return this.#call("recordDeadLetter", [d]);
  }
  listDeadLetters(id: string, afterId: number, limit: number): Promise<DeadLetter[]> {
    return this.#call("listDeadLetters", [id, afterId, limit]);
  }
  readRefs(actorId: string, refs: readonly number[]): Promise<JournalEntry[]> {
    return this.#call("readRefs", [actorId, refs]);
  }
  unread(user: string, marks: readonly ReadMark[], cap: number): Promise<UnreadCount[]> {
    return this.#call("unread", [user, marks, cap]);
  }
  search(user: string, query: string, before: string | undefined, limit: number): Promise<SearchPage> {
    return this.#call("search", [user, query, before, limit]);
  }

  close(): Promise<void> {
    this.#closing ??= this.#waiters.size === 0 ? Promise.resolve() : new Promise((resolve) => (this.#idle = resolve));
    return this.#closing;
  }

  #call<T>(op: StoreOp, args: unknown[]): Promise<T> {
    if (this.#closing) return Promise.reject(new StoreClosedError(`Cannot ${op}: the store is closed`));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#waiters.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#requests.push({ id, op, args } satisfies StoreRequest);
    });
  }

  #settle(reply: StoreReply): void {
    const waiter = this.#waiters.get(reply?.id);
    if (!waiter) return;
    this.#waiters.delete(reply.id);
    if ("error" in reply) waiter.reject(storeErrorFromWire(reply.error));
    else waiter.resolve(reply.value);
    if (this.#waiters.size === 0) this.#idle?.();
  }
}
