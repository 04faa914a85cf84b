import { CommitStats } from "./commit_stats.ts";
import { StoreCommitUnknownError, StoreQueryError } from "./errors.ts";
import { appendGroup, appendOnce } from "./journal_append.ts";
import type { AppendRequest } from "./store.ts";
import type { SqlClient, SqlQueryable } from "./sql_client.ts";
import { UNIQUE_VIOLATION, sqlState } from "./sql_client.ts";
import type { AppendOutcome } from "./store.ts";
import { TailMemo } from "./tail_memo.ts";
import { fnv1a } from "../lib/hash.ts";

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
   * Pins each actor to one of `maxInFlight` lanes (by a hash of its id), each with one group in
   * flight, instead of letting any free slot take any actor. An actor's appends then always go
   * through the same lane, so the appends it issues when its commit returns are ready for that
   * lane's next group (with a `gather` that waits for them, such as `setImmediate`), and the lanes'
   * statements run side by side on their connections. Unpinned, the actors released by a commit
   * miss the group formed right after it (formed before their next appends arrive) and wait for
   * the next slot to free; and a `gather` that waits for them merges every actor into one group,
   * which leaves the other slots idle.
   */
  lanes: boolean;
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
  maxAppends: 512, maxEntries: 8_192, maxInFlight: 1, lanes: false, gather: (fn) => void Promise.resolve().then(fn),
};

/** Appends waiting for a group, and the groups in flight, of the actors that share a lane. */
interface Lane {
  queue: Pending[];
  inFlight: number;
  /** Groups this lane may have in flight at once. */
  readonly max: number;
}

/**
 * Group commit of appends: the appends of many actors that arrive while earlier groups are in
 * flight are run by the next group, ONE statement (`SQL.appendGroup`) that is its own
 * transaction: one round trip and one WAL flush for all of them. Up to `maxInFlight` groups are
 * in flight at once: from one shared queue, or from one lane each (`lanes`).
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
  readonly #statement: SqlQueryable & Pick<SqlClient, "appendByCopy">;
  readonly #opts: GroupCommitOptions;
  readonly #lanes: Lane[];
  /** Actors with an append in flight. */
  readonly #busy = new Set<string>();
  /** The last seq this store committed per actor: an append right after it skips the gap check. */
  readonly #tails = new TailMemo();
  #scheduled = false;
  #drained: Array<() => void> = [];
  /** Statements that returned, their appends and entries, and their wall time (`GET /metrics`). */
  readonly stats = new CommitStats();

  constructor(client: SqlClient, opts: Partial<GroupCommitOptions> = {}) {
    this.#opts = { ...defaultGroupCommit, ...opts };
    this.#statement = {
      query: (text, params) => client.statement(text, params),
      // A group whose appends all continue what this store committed goes by COPY where the client can.
      appendByCopy: client.appendByCopy
        ? async (reqs, rows) => {
          await client.appendByCopy!(reqs, rows);
          this.stats.copied();
        }
        : undefined,
    };
    const { maxInFlight, lanes } = this.#opts;
    this.#lanes = lanes
      ? Array.from({ length: maxInFlight }, () => ({ queue: [], inFlight: 0, max: 1 }))
      : [{ queue: [], inFlight: 0, max: maxInFlight }];
  }

  append(req: AppendRequest): Promise<AppendOutcome> {
    return new Promise((resolve, reject) => {
      const lane = this.#laneOf(req.actorId);
      // Not `{ ...req, resolve, reject }`: V8 gives each spread copy a map outside any transition
      // tree, so adding two properties to it built two new maps per append (~1.5 µs each time,
      // `--log-maps` in the durable bench: one `resolve` and one `reject` transition per append).
      lane.queue.push({ actorId: req.actorId, epoch: req.epoch, entries: req.entries, resolve, reject });
      if (lane.inFlight < lane.max) this.#schedule();
    });
  }

  /** Resolves once every append submitted so far has its outcome. */
  drain(): Promise<void> {
    if (this.#idle()) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  #laneOf(actorId: string): Lane {
    if (this.#lanes.length === 1) return this.#lanes[0]!;
    return this.#lanes[fnv1a(actorId) % this.#lanes.length]!;
  }

  #idle(): boolean {
    return this.#lanes.every((l) => l.inFlight === 0 && l.queue.length === 0);
  }

  /** Forms groups once appends issued meanwhile had their chance to join (see `gather`). */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#opts.gather(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    for (const lane of this.#lanes) {
      while (lane.inFlight < lane.max) {
        const { group, entries } = this.#take(lane);
        if (group.length === 0) break;
        lane.inFlight++;
        void this.#commit(group, entries).then(() => {
          lane.inFlight--;
          for (const p of group) this.#busy.delete(p.actorId);
          this.#schedule();
        });
      }
    }
    if (this.#idle()) {
      for (const resolve of this.#drained.splice(0)) resolve();
    }
  }

  /**
   * The lane's next group, in arrival order: skips (and keeps queued) the appends of actors that
   * already have one in flight or in this group; stops at the first append that does not fit.
   */
  #take(lane: Lane): { group: Pending[]; entries: number } {
    const group: Pending[] = [];
    const rest: Pending[] = [];
    const queue = lane.queue;
    let entries = 0;
    let i = 0;
    for (; i < queue.length; i++) {
      const p = queue[i]!;
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
    lane.queue = i < queue.length ? rest.concat(queue.slice(i)) : rest;
    return { group, entries };
  }

  /** Runs `group` (`entries` entries in all) as one statement, or its appends alone if it fails. */
  async #commit(group: Pending[], entries: number): Promise<void> {
    let outcomes: AppendOutcome[];
    const started = performance.now();
    try {
      const continues = group.map((p) => this.#tails.continues(p.actorId, p.entries));
      outcomes = await appendGroup(this.#statement, group, continues);
      this.stats.record(group.length, entries, (performance.now() - started) / 1000);
    } catch (err) {
      for (const p of group) this.#tails.forget(p.actorId);
      if (err instanceof StoreCommitUnknownError) {
        for (const p of group) p.reject(err);
        return;
      }
      // The statement was its own transaction and failed: nothing of the group is committed.
      for (const p of group) await this.#alone(p);
      return;
    }
    group.forEach((p, i) => {
      this.#tails.settled(p.actorId, p.entries, outcomes[i]!);
      p.resolve(outcomes[i]!);
    });
  }

  /** Runs one append as its own transaction; its error, if any, is its own. */
  async #alone(p: Pending): Promise<void> {
    try {
      const outcome = await this.#appendAlone(p);
      this.#tails.settled(p.actorId, p.entries, outcome);
      p.resolve(outcome);
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
