import { describe, expect, it } from "vitest";
import { StoreCommitUnknownError, StoreQueryError } from "./errors.ts";
import { GroupCommit } from "./group_commit.ts";
import type { SqlClient, SqlQueryable, SqlRow } from "./sql_client.ts";
import type { JournalEntry } from "./store.ts";

/**
 * A hand-written SqlClient that answers every append statement `ok`, records transactions, and
 * has switches for the faults the group commit must contain.
 */
class FakeSql implements SqlClient {
  /** Actor ids of the appends each committed transaction ran, in order. */
  readonly committed: string[][] = [];
  /** Appends run outside any transaction (the retry path), in order. */
  readonly alone: string[] = [];
  /** Statements for this actor throw, as a constraint violation or a broken connection would. */
  failingActor: string | undefined;
  failureCode = "40P01";
  /** COMMIT fails after the statements ran. */
  commitFails = false;
  /** When set, the first COMMIT waits for `releaseCommit()`; `firstCommitHeld` tells it got there. */
  holdFirstCommit = false;
  readonly firstCommitHeld: Promise<void>;
  #held!: () => void;
  #release: (() => void) | null = null;

  constructor() {
    this.firstCommitHeld = new Promise((resolve) => (this.#held = resolve));
  }

  releaseCommit(): void {
    this.#release?.();
  }

  async query(_text: string, params: readonly unknown[] = []): Promise<SqlRow[]> {
    this.alone.push(this.#answer(params));
    return [okRow(params)];
  }

  async transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    const ran: string[] = [];
    const result = await work({
      query: async (_text, params = []) => {
        ran.push(this.#answer(params));
        return [okRow(params)];
      },
    });
    if (this.committed.length === 0 && this.holdFirstCommit) {
      const released = new Promise<void>((resolve) => (this.#release = resolve));
      this.#held();
      await released;
    }
    if (this.commitFails) throw new StoreCommitUnknownError("Cannot commit: connection lost");
    this.committed.push(ran);
    return result;
  }

  async close(): Promise<void> {}

  #answer(params: readonly unknown[]): string {
    const actor = String(params[0]);
    if (actor === this.failingActor) throw Object.assign(new Error(`statement failed for ${actor}`), { code: this.failureCode });
    return actor;
  }
}

function okRow(params: readonly unknown[]): SqlRow {
  return { epoch_ok: 1, inserted: (JSON.parse(String(params[2])) as unknown[]).length, dups: [] };
}

const batch: JournalEntry[] = [{ seq: 1, clientId: "c-1", sender: "ann", body: "hi", ts: 1 }];
const append = (g: GroupCommit, actorId: string) => g.append({ actorId, epoch: 1, entries: batch });

describe("group commit", () => {
  it("group commit - appends issued in one tick share one transaction", async () => {
    const sql = new FakeSql();
    const g = new GroupCommit(sql);
    const outcomes = await Promise.all(["a", "b", "c"].map((id) => append(g, id)));
    expect(outcomes).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(sql.committed).toEqual([["a", "b", "c"]]);
  });

  it("group commit - appends arriving during a commit go together into the next one", async () => {
    const sql = new FakeSql();
    sql.holdFirstCommit = true;
    const g = new GroupCommit(sql);
    const first = append(g, "a");
    await sql.firstCommitHeld;
    const later = ["b", "c", "d"].map((id) => append(g, id));
    sql.releaseCommit();
    await Promise.all([first, ...later]);
    expect(sql.committed).toEqual([["a"], ["b", "c", "d"]]);
  });

  it("group commit - an outcome is reported only after its commit", async () => {
    const sql = new FakeSql();
    sql.holdFirstCommit = true;
    const g = new GroupCommit(sql);
    let settled = false;
    const pending = append(g, "a").then(() => (settled = true));
    await sql.firstCommitHeld;
    expect(settled).toBe(false);
    sql.releaseCommit();
    await pending;
    expect(settled).toBe(true);
  });

  it("group commit - a failing statement fails only its own append", async () => {
    const sql = new FakeSql();
    sql.failingActor = "b";
    const g = new GroupCommit(sql);
    const [a, b, c] = await Promise.allSettled(["a", "b", "c"].map((id) => append(g, id)));
    expect(a).toEqual({ status: "fulfilled", value: { ok: true } });
    expect(c).toEqual({ status: "fulfilled", value: { ok: true } });
    expect(b.status === "rejected" && b.reason).toBeInstanceOf(StoreQueryError);
    expect(sql.committed).toEqual([]);
    expect(sql.alone).toEqual(["a", "c"]);
  });

  it("group commit - a unique violation that persists is answered as a conflict", async () => {
    const sql = new FakeSql();
    sql.failingActor = "b";
    sql.failureCode = "23505";
    const g = new GroupCommit(sql);
    const outcomes = await Promise.all(["a", "b"].map((id) => append(g, id)));
    expect(outcomes).toEqual([{ ok: true }, { ok: false, reason: "conflict" }]);
  });

  it("group commit - a commit with an unknown result rejects every append of the group", async () => {
    const sql = new FakeSql();
    sql.commitFails = true;
    const g = new GroupCommit(sql);
    const results = await Promise.allSettled(["a", "b"].map((id) => append(g, id)));
    for (const r of results) expect(r.status === "rejected" && r.reason).toBeInstanceOf(StoreCommitUnknownError);
    expect(sql.alone).toEqual([]);
  });
});
