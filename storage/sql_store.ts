import type { CommitStatsSnapshot } from "./commit_stats.ts";
import { StoreClosedError, StoreError, StoreQueryError } from "./errors.ts";
import { GroupCommit } from "./group_commit.ts";
import type { GroupCommitOptions } from "./group_commit.ts";
import { migrate } from "./migrations.ts";
import type { SqlClient, SqlRow } from "./sql_client.ts";
import { toNumber } from "./sql_client.ts";
import { SQL } from "./statements.ts";
import { USER_DATA_SQL as U } from "./user_data_statements.ts";
import type { AppendOutcome, EntryKind, EpochGrant, JournalBounds, JournalEntry, ReadMark, SearchPage, Snapshot, Store, TrimRule, UnreadCount } from "./store.ts";
import { jsonString } from "../lib/json_string.ts";
import type { ApiKeyRecord, ApiKeyStore } from "./api_key_store.ts";
import type { AuditInput, AuditRecord, Membership, UserDataStore, UserMessage } from "./user_data_store.ts";
import { WEBHOOK_SQL as W } from "./webhook_statements.ts";
import type { ChannelEvent, DeadLetter, DeadLetterInput, WebhookCursor, WebhookEventType, WebhookInput, WebhookRecord, WebhookStore } from "./webhook_store.ts";

/**
 * The one `Store` implementation, over any `SqlClient` (PGlite, `pg`). Statements and their
 * fencing rules are in `statements.ts`; appends from all actors go through one `GroupCommit`.
 * Every other call is a single statement, atomic on its own.
 *
 * Exactly-once (G3) covers the retained journal: a client id whose entry was trimmed can be
 * appended again.
 */
export class SqlStore implements Store, UserDataStore, ApiKeyStore, WebhookStore {
  readonly #client: SqlClient;
  readonly #appends: GroupCommit;
  #closing: Promise<void> | null = null;

  private constructor(client: SqlClient, groupCommit: Partial<GroupCommitOptions>) {
    this.#client = client;
    this.#appends = new GroupCommit(client, groupCommit);
  }

  /** Migrates the schema, then serves. The store owns `client` and closes it on `close()`. */
  static async open(client: SqlClient, groupCommit: Partial<GroupCommitOptions> = {}): Promise<SqlStore> {
    try {
      await migrate(client);
    } catch (err) {
      await client.close();
      throw err;
    }
    return new SqlStore(client, groupCommit);
  }

  async acquireEpoch(actorId: string, owner: string): Promise<number> {
    return (await this.acquireEpochGrant(actorId, owner)).epoch;
  }

  async acquireEpochGrant(actorId: string, owner: string): Promise<EpochGrant> {
    const [row] = await this.#query("acquire an epoch for", actorId, SQL.acquireEpoch, [actorId, owner]);
    return { epoch: toNumber(row!.epoch), first: row!.first === true };
  }

  async currentEpoch(actorId: string): Promise<{ epoch: number; owner: string } | null> {
    const [row] = await this.#query("read the epoch of", actorId, SQL.currentEpoch, [actorId]);
    return row ? { epoch: toNumber(row.epoch), owner: String(row.owner) } : null;
  }

  append(actorId: string, epoch: number, entries: readonly JournalEntry[]): Promise<AppendOutcome> {
    if (this.#closing) return Promise.reject(closedError("append to", actorId));
    return this.#appends.append({ actorId, epoch, entries });
  }

  async readAfter(actorId: string, afterSeq: number, limit: number): Promise<JournalEntry[]> {
    const rows = await this.#query("read the journal of", actorId, SQL.readAfter, [actorId, afterSeq, limit]);
    return rows.map(toEntry);
  }

  async readBefore(actorId: string, beforeSeq: number, limit: number): Promise<JournalEntry[]> {
    const rows = await this.#query("read the journal of", actorId, SQL.readBefore, [actorId, beforeSeq, limit]);
    return rows.map(toEntry);
  }

  async bounds(actorId: string): Promise<JournalBounds> {
    const [row] = await this.#query("read the bounds of", actorId, SQL.bounds, [actorId]);
    return { first: toNumber(row!.first), last: toNumber(row!.last) };
  }

  async findClientIds(actorId: string, clientIds: readonly string[]): Promise<Map<string, number>> {
    if (clientIds.length === 0) return new Map();
    const rows = await this.#query("find client ids of", actorId, SQL.findClientIds, [actorId, JSON.stringify(clientIds)]);
    return new Map(rows.map((r) => [String(r.client_id), toNumber(r.seq)]));
  }

  async trim(actorId: string, epoch: number, rule: TrimRule): Promise<number | null> {
    const params = [actorId, epoch, rule.uptoSeq, rule.olderThan ?? null, rule.keepSince];
    const [row] = await this.#query("trim the journal of", actorId, SQL.trim, params);
    return toNumber(row!.epoch_ok) > 0 ? toNumber(row!.trimmed) : null;
  }

  async eraseSender(actorId: string, epoch: number, user: string): Promise<number | null> {
    const [row] = await this.#query("erase a user's entries in", actorId, SQL.eraseSender, [actorId, epoch, user]);
    return toNumber(row!.epoch_ok) > 0 ? toNumber(row!.erased) : null;
  }

  async userMessages(user: string, afterActor: string, afterSeq: number, limit: number): Promise<UserMessage[]> {
    const rows = await this.#query("read the messages of", `user:${user}`, U.userMessages, [user, afterActor, afterSeq, limit]);
    return rows.map((r) => {
      const m: UserMessage = { actorId: String(r.actor_id), seq: toNumber(r.seq), clientId: String(r.client_id), body: String(r.body), ts: toNumber(r.ts) };
      if (r.kind !== "msg") m.kind = r.kind as EntryKind;
      if (r.ref !== null && r.ref !== undefined) m.ref = toNumber(r.ref);
      return m;
    });
  }

  async userChannels(user: string): Promise<string[]> {
    const rows = await this.#query("list the channels of", `user:${user}`, U.userChannels, [user]);
    return rows.map((r) => String(r.actor_id));
  }

  async sessionsMentioning(user: string): Promise<string[]> {
    const rows = await this.#query("find the sessions naming", `user:${user}`, U.sessionsMentioning, [user]);
    return rows.map((r) => String(r.actor_id));
  }

  async memberships(user: string, afterActor: string, limit: number): Promise<Membership[]> {
    const rows = await this.#query("list the memberships of", `user:${user}`, U.memberships, [user, afterActor, limit]);
    return rows.map((r) => ({ actorId: String(r.actor_id), role: String(r.role), owner: r.owner === user, visibility: String(r.visibility) }));
  }

  async dropActors(actorIds: readonly string[]): Promise<{ messages: number; snapshots: number; epochs: number }> {
    if (actorIds.length === 0) return { messages: 0, snapshots: 0, epochs: 0 };
    const [row] = await this.#query("drop", actorIds.join(","), U.dropActors, [JSON.stringify(actorIds)]);
    return { messages: toNumber(row!.messages), snapshots: toNumber(row!.snapshots), epochs: toNumber(row!.epochs) };
  }

  async recordAudit(record: AuditInput): Promise<AuditRecord> {
    const params = [record.action, record.actor, record.subjectHash, JSON.stringify(record.details)];
    const [row] = await this.#query("record an audit entry for", record.action, U.recordAudit, params);
    return { ...record, id: toNumber(row!.id), at: toNumber(row!.at) };
  }

  async listAudit(afterId: number, limit: number): Promise<AuditRecord[]> {
    const rows = await this.#query("list the audit entries after", String(afterId), U.listAudit, [afterId, limit]);
    return rows.map((r) => ({
      id: toNumber(r.id), at: toNumber(r.at), action: String(r.action), actor: String(r.actor),
      subjectHash: String(r.subject_hash), details: r.details as AuditRecord["details"],
    }));
  }

  async saveSnapshot(actorId: string, epoch: number, snapshot: Snapshot): Promise<boolean> {
    // JSON has no `undefined`: an undefined state is stored, and loaded, as null.
    const state = JSON.stringify(snapshot.state) ?? null;
    const [row] = snapshot.events?.length
      ? await this.#query("save the snapshot and events of", actorId, SQL.saveSnapshotWithEvents, [actorId, epoch, snapshot.seq, state, JSON.stringify(snapshot.events)])
      : await this.#query("save the snapshot of", actorId, SQL.saveSnapshot, [actorId, epoch, snapshot.seq, state]);
    return toNumber(row!.epoch_ok) > 0;
  }

  async loadSnapshot(actorId: string): Promise<Snapshot | null> {
    const [row] = await this.#query("load the snapshot of", actorId, SQL.loadSnapshot, [actorId]);
    return row ? { seq: toNumber(row.seq), state: row.state } : null;
  }

  async listSnapshots(
    prefix: string,
    afterId: string,
    limit: number,
  ): Promise<Array<{ actorId: string; snapshot: Snapshot }>> {
    const rows = await this.#query("list the snapshots of", `${prefix}*`, SQL.listSnapshots, [prefix, afterId, limit]);
    return rows.map((r) => ({ actorId: String(r.actor_id), snapshot: { seq: toNumber(r.seq), state: r.state } }));
  }

  async createKey(key: { id: string; name: string; scopes: string[]; hash: string }): Promise<ApiKeyRecord> {
    const [row] = await this.#query("create the API key", key.id, U.createKey, [key.id, key.name, key.scopes.join(","), key.hash]);
    return { id: key.id, name: key.name, scopes: key.scopes, createdAt: toNumber(row!.created_at), revokedAt: null };
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    const rows = await this.#query("list the API keys", "*", U.listKeys, []);
    return rows.map((r) => ({
      id: String(r.id), name: String(r.name), scopes: String(r.scopes).split(",").filter(Boolean),
      createdAt: toNumber(r.created_at), revokedAt: r.revoked_at === null ? null : toNumber(r.revoked_at),
    }));
  }

  async revokeKey(id: string): Promise<boolean> {
    return (await this.#query("revoke the API key", id, U.revokeKey, [id])).length > 0;
  }

  async findKey(hash: string): Promise<{ id: string; name: string; scopes: string[] } | null> {
    const [row] = await this.#query("find an API key", "*", U.findKey, [hash]);
    return row ? { id: String(row.id), name: String(row.name), scopes: String(row.scopes).split(",").filter(Boolean) } : null;
  }

  async revokeTokens(subjectHash: string, before: number): Promise<number> {
    const [row] = await this.#query("revoke the tokens of", subjectHash.slice(0, 12), U.revokeTokens, [subjectHash, before]);
    return toNumber(row!.before);
  }

  async listRevocations(): Promise<Array<{ subjectHash: string; before: number }>> {
    const rows = await this.#query("list token revocations", "*", U.listRevocations, []);
    return rows.map((r) => ({ subjectHash: String(r.subject_hash), before: toNumber(r.before) }));
  }

  async readRefs(actorId: string, refs: readonly number[]): Promise<JournalEntry[]> {
    if (refs.length === 0) return [];
    const rows = await this.#query("read the references of", actorId, SQL.readRefs, [actorId, JSON.stringify(refs)]);
    return rows.map(toEntry);
  }

  async unread(user: string, marks: readonly ReadMark[], cap: number): Promise<UnreadCount[]> {
    if (marks.length === 0) return [];
    const json = `[${marks.map((m) => `{"a":${jsonString(m.actorId)},"s":${m.after}}`).join(",")}]`;
    const rows = await this.#query("count unread messages of", `session:${user}`, SQL.unread, [user, json, cap]);
    return rows.map((r) => ({ actorId: String(r.actor_id), last: toNumber(r.last), unread: toNumber(r.unread) }));
  }

  async search(user: string, query: string, before: string | undefined, limit: number): Promise<SearchPage> {
    const cursor = before === undefined ? [null, null, null] : parseCursor(before);
    const rows = await this.#query("search the channels of", `session:${user}`, SQL.search, [user, query, ...cursor, limit]);
    const hits = rows.map((r) => ({
      actorId: String(r.actor_id), seq: toNumber(r.seq), sender: String(r.sender), body: String(r.body), ts: toNumber(r.ts), edited: r.edited === true,
    }));
    const lastRow = rows[rows.length - 1];
    return rows.length === limit && lastRow ? { hits, next: `${toNumber(lastRow.ts)}.${toNumber(lastRow.at)}.${String(lastRow.actor_id)}` } : { hits };
  }

  /** What the group commit did so far (`GET /metrics`). */
  commitStats(): CommitStatsSnapshot {
    return this.#appends.stats.snapshot();
  }

  /** Waits for in-flight appends to get their outcome, then closes the database. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#appends.drain().then(() => this.#client.close());
    return this.#closing;
  }

  async createWebhook(w: WebhookInput): Promise<WebhookRecord> {
    const [row] = await this.#query("create the webhook", w.id, W.createWebhook, [w.id, w.url, w.secret, w.events.join(","), w.channels.join(","), w.maxBacklog, w.timeoutMs]);
    return { ...w, createdAt: toNumber(row!.created_at) };
  }

  async listWebhooks(): Promise<WebhookRecord[]> {
    const rows = await this.#query("list the webhooks", "*", W.listWebhooks, []);
    return rows.map((r) => ({
      id: String(r.id), url: String(r.url), secret: String(r.secret), events: String(r.events).split(",").filter(Boolean) as WebhookEventType[],
      channels: String(r.channels).split(",").filter(Boolean), maxBacklog: toNumber(r.max_backlog), timeoutMs: toNumber(r.timeout_ms), createdAt: toNumber(r.created_at),
    }));
  }

  async deleteWebhook(id: string): Promise<boolean> {
    return (await this.#query("delete the webhook", id, W.deleteWebhook, [id])).length > 0;
  }

  async claimWebhook(id: string, owner: string, now: number, until: number): Promise<boolean> {
    return (await this.#query("claim the webhook", id, W.claimWebhook, [id, owner, now, until])).length > 0;
  }

  async webhookCursor(id: string, actorId: string): Promise<WebhookCursor> {
    const [row] = await this.#query("read the webhook position in", actorId, W.webhookCursor, [id, actorId]);
    return row ? { seq: toNumber(row.seq), n: toNumber(row.n) } : { seq: 0, n: 0 };
  }

  async advanceWebhook(id: string, owner: string, actorId: string, to: WebhookCursor): Promise<boolean> {
    return (await this.#query("advance the webhook position in", actorId, W.advanceWebhook, [id, owner, actorId, to.seq, to.n])).length > 0;
  }

  async channelEvents(actorId: string, afterN: number, limit: number): Promise<ChannelEvent[]> {
    const rows = await this.#query("read the channel events of", actorId, W.channelEvents, [actorId, afterN, limit]);
    return rows.map((r) => ({
      n: toNumber(r.n), afterSeq: toNumber(r.after_seq), type: String(r.type) as ChannelEvent["type"], payload: r.payload as Record<string, unknown>, at: toNumber(r.at),
    }));
  }

  async pruneChannelEvents(before: number): Promise<number> {
    const [row] = await this.#query("prune the channel events", "*", W.pruneChannelEvents, [before]);
    return toNumber(row!.n);
  }

  async recordDeadLetter(d: DeadLetterInput): Promise<DeadLetter> {
    const [row] = await this.#query("record a dead letter of", d.webhookId, W.recordDeadLetter, [d.webhookId, d.channel, d.from, d.to, d.count, d.reason, d.lastError]);
    return { ...d, id: toNumber(row!.id), at: toNumber(row!.at) };
  }

  async listDeadLetters(id: string, afterId: number, limit: number): Promise<DeadLetter[]> {
    const rows = await this.#query("list the dead letters of", id, W.listDeadLetters, [id, afterId, limit]);
    return rows.map((r) => ({
      id: toNumber(r.id), at: toNumber(r.at), webhookId: String(r.webhook_id), channel: String(r.channel), from: String(r.from_id), to: String(r.to_id),
      count: toNumber(r.count), reason: String(r.reason) as DeadLetter["reason"], lastError: String(r.last_error),
    }));
  }

  async #query(action: string, actorId: string, text: string, params: readonly unknown[]): Promise<SqlRow[]> {
    if (this.#closing) throw closedError(action, actorId);
    try {
      return await this.#client.query(text, params);
    } catch (err) {
      if (err instanceof StoreError) throw err;
      const why = err instanceof Error ? err.message : String(err);
      throw new StoreQueryError(`Cannot ${action} "${actorId}": ${why}`, { cause: err });
    }
  }
}

function closedError(action: string, actorId: string): StoreClosedError {
  return new StoreClosedError(`Cannot ${action} "${actorId}": the store is closed`);
}

/** A row as an entry; a plain message carries no `kind` or `ref`, as it was appended. */
function toEntry(r: SqlRow): JournalEntry {
  const e: JournalEntry = {
    seq: toNumber(r.seq),
    clientId: String(r.client_id),
    sender: String(r.sender),
    body: String(r.body),
    ts: toNumber(r.ts),
  };
  if (r.kind !== undefined && r.kind !== "msg") e.kind = r.kind as EntryKind;
  if (r.ref !== null && r.ref !== undefined) e.ref = toNumber(r.ref);
  return e;
}

/** A search cursor (`SearchPage.next`: `<ts>.<entry seq>.<actor id>`) as the statement's three parameters. */
function parseCursor(c: string): [number, string, number] {
  const m = /^(\d{1,16})\.(\d{1,16})\.(.+)$/.exec(c);
  if (!m) throw new StoreQueryError(`Cannot search: the cursor "${c.slice(0, 40)}" is not one a search returned`);
  return [Number(m[1]), m[3]!, Number(m[2])];
}
