import { StoreCommitUnknownError, StoreQueryError } from "./errors.ts";
import { appendGroup, appendOnce } from "./journal_append.ts";
import type { AppendRequest } from "./journal_append.ts";
import type { SqlClient, SqlQueryable } from "./sql_client.ts";
import { UNIQUE_VIOLATION, sqlState } from "./sql_client.ts";
import type { AppendOutcome } from "./store.ts";

interface Pending extends AppendRequest {
  resolve(outcome: AppendOutcome): void;
  reject(err: unknown): void;
}

export interface GroupCommitOptions {
  /** Most appends in one group. */
  maxAppends: number;
  /** Most entries in one group (a single larger append still goes alone): bounds a statement's size. */
  maxEntries: number;
  /** Groups in flight at once, each on a connection of its own. */
  maxInFlight: number;
  /**
   * Runs `fn` once appends issued meanwhile had a chance to arrive, before a group is formed.
   * Default: after a microtask (appends issued in the same tick join). A synchronous database
   * (PGlite blocks its thread while a statement runs) passes `setImmediate`: requests that arrived
   * on the thread's ports during a statement are delivered as macrotasks, and must join the next
   * group instead of each making a group of their own.
   */
  gather(fn: () => void): void;
}

export const defaultGroupCommit: GroupCommitOptions = {
  maxAppends: 512, maxEntries: 8_192, maxInFlight: 1, gather: (fn) => void Promise.resolve().then(fn),
};

/**
 * Group commit of appends: the appends of many actors that arrive while earlier groups are in
 * flight are run by the next group, ONE statement (`SQL.appendGroup`) that is its own
 * transaction: one round trip and one WAL flush for all of them. Up to `maxInFlight` groups are
 * in flight at once.
 *
 * Guarantees: an append's outcome is reported only after the statement that made it durable
 * returned. An actor has at most one append in flight: its later appends wait for the next group,
 * so two appends from one actor land in the order they were issued. A failing statement cannot
 * fail its neighbours: nothing of the group was committed, and each of its appends is run again
 * alone. If a group's outcome is unknown (connection lost), each of its appends is rejected with
 * `StoreCommitUnknownError`.
 */
export class GroupCommit {
  /** Every statement of an append runs as its own transaction. */
  readonly #statement: SqlQueryable;
  readonly #opts: GroupCommitOptions;
  #queue: Pending[] = [];
  /** Actors with an append in flight. */
  readonly #busy = new Set<string>();
  #inFlight = 0;
  #scheduled = false;
  #drained: Array<() => void> = [];

  constructor(client: SqlClient, opts: Partial<GroupCommitOptions> = {}) {
    this.#statement = { query: (text, params) => client.statement(text, params) };
    this.#opts = { ...defaultGroupCommit, ...opts };
  }

  append(req: AppendRequest): Promise<AppendOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ ...req, resolve, reject });
      if (this.#scheduled || this.#inFlight >= this.#opts.maxInFlight) return;
      this.#scheduled = true;
      // Yield so that appends issued in the same tick as this one join its group.
      this.#opts.gather(() => {
        this.#scheduled = false;
        this.#pump();
      });
    });
  }

  /** Resolves once every append submitted so far has its outcome. */
  drain(): Promise<void> {
    if (this.#inFlight === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  #pump(): void {
    while (this.#inFlight < this.#opts.maxInFlight) {
      const group = this.#take();
      if (group.length === 0) break;
      this.#inFlight++;
      void this.#commit(group).then(() => {
        this.#inFlight--;
        for (const p of group) this.#busy.delete(p.actorId);
        if (this.#scheduled) return;
        this.#scheduled = true;
        this.#opts.gather(() => {
          this.#scheduled = false;
          this.#pump();
        });
      });
    }
    if (this.#inFlight === 0 && this.#queue.length === 0) {
      for (const resolve of this.#drained.splice(0)) resolve();
    }
  }

  /**
   * The next group, in arrival order: skips (and keeps queued) the appends of actors that already
   * have one in flight or in this group; stops at the first append that does not fit.
   */
  #take(): Pending[] {
    const group: Pending[] = [];
    const rest: Pending[] = [];
    let entries = 0;
    let i = 0;
    for (; i < this.#queue.length; i++) {
      const p = this.#queue[i]!;
      if (this.#busy.has(p.actorId)) {
        rest.push(p);
        continue;
      }
      const full = group.length >= this.#opts.maxAppends || entries + p.entries.length > this.#opts.maxEntries;
      if (full && group.length > 0) break;
      group.push(p);
      this.#busy.add(p.actorId);
      entries += p.entries.length;
    }
    this.#queue = i < this.#queue.length ? rest.concat(this.#queue.slice(i)) : rest;
    return group;
  }

  async #commit(group: Pending[]): Promise<void> {
    let outcomes: AppendOutcome[];
    try {
      outcomes = await appendGroup(this.#statement, group);
    } catch (err) {
      if (err instanceof StoreCommitUnknownError) {
        for (const p of group) p.reject(err);
        return;
      }
      // The statement was its own transaction and failed: nothing of the group is committed.
      for (const p of group) await this.#alone(p);
      return;
    }
    group.forEach((p, i) => p.resolve(outcomes[i]!));
  }

  /** Runs one append as its own transaction; its error, if any, is its own. */
  async #alone(p: Pending): Promise<void> {
    try {
      p.resolve(await this.#appendAlone(p));
    } catch (err) {
      if (err instanceof StoreCommitUnknownError) {
        p.reject(err);
        return;
      }
      const why = err instanceof Error ? err.message : String(err);
      p.reject(new StoreQueryError(`Cannot append to "${p.actorId}": ${why}`, { cause: err }));
    }
  }

  /**
   * A unique violation means another transaction committed the same seq or client id after this
   * statement's snapshot; the retry sees that commit and reports `duplicate` or `conflict`.
   */
  async #appendAlone(p: Pending): Promise<AppendOutcome> {
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        return await appendOnce(this.#statement, p);
      } catch (err) {
        if (sqlState(err) !== UNIQUE_VIOLATION) throw err;
      }
    }
    return { ok: false, reason: "conflict" };
  }
}
