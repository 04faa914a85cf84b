import { StoreCommitUnknownError, StoreQueryError } from "./errors.ts";
import { appendOnce } from "./journal_append.ts";
import type { AppendRequest } from "./journal_append.ts";
import type { SqlClient } from "./sql_client.ts";
import { UNIQUE_VIOLATION, sqlState } from "./sql_client.ts";
import type { AppendOutcome } from "./store.ts";

interface Pending extends AppendRequest {
  resolve(outcome: AppendOutcome): void;
  reject(err: unknown): void;
}

/**
 * Group commit of appends: appends from many actors that arrive while a commit is in flight are
 * run by the next single transaction (BEGIN; one statement per append; COMMIT), so they share one
 * WAL flush. One group is in flight at a time.
 *
 * Guarantees: an append's outcome is reported only after the COMMIT that made it durable
 * returned. Appends run in arrival order, so two appends from one actor land in the order they
 * were issued. A failing statement cannot fail its neighbours: the group is rolled back and each
 * of its appends is run again alone.
 */
export class GroupCommit {
  readonly #client: SqlClient;
  readonly #maxGroup: number;
  #queue: Pending[] = [];
  #running: Promise<void> | null = null;

  /** `maxGroup` bounds one transaction, so a burst cannot hold row locks for too long. */
  constructor(client: SqlClient, maxGroup = 512) {
    this.#client = client;
    this.#maxGroup = maxGroup;
  }

  append(req: AppendRequest): Promise<AppendOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ ...req, resolve, reject });
      this.#running ??= this.#run();
    });
  }

  /** Resolves once every append submitted so far has its outcome. */
  async drain(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #run(): Promise<void> {
    // Yield once so that appends issued in the same tick as the first one join its group.
    await Promise.resolve();
    while (this.#queue.length > 0) {
      await this.#commit(this.#queue.splice(0, this.#maxGroup));
    }
    this.#running = null;
  }

  async #commit(group: Pending[]): Promise<void> {
    let outcomes: AppendOutcome[];
    try {
      outcomes = await this.#client.transaction(async (tx) => {
        const out: AppendOutcome[] = [];
        for (const p of group) out.push(await appendOnce(tx, p));
        return out;
      });
    } catch (err) {
      if (err instanceof StoreCommitUnknownError) {
        for (const p of group) p.reject(err);
        return;
      }
      // Rolled back: nothing of the group is committed, so each append can run again alone.
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
        return await appendOnce(this.#client, p);
      } catch (err) {
        if (sqlState(err) !== UNIQUE_VIOLATION) throw err;
      }
    }
    return { ok: false, reason: "conflict" };
  }
}
