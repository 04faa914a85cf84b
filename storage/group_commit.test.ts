import { describe, expect, it } from "vitest";
import { StoreCommitUnknownError, StoreQueryError } from "./errors.ts";
import { GroupCommit } from "./group_commit.ts";
import type { SqlClient, SqlQueryable, SqlRow } from "./sql_client.ts";
import { SQL } from "./statements.ts";
import type { JournalEntry } from "./store.ts";

/**
 * A hand-written SqlClient that answers every append statement `ok`, records the groups it
 * committed and the appends it ran alone, and has switches for the faults the group commit must
 * contain.
 */
class FakeSql implements SqlClient {
  /** Actor ids of the appends each committed group statement ran, in order. */
  readonly committed: string[][] = [];
  /** Per actor, the first seq of each of its appends, in the order their statements committed. */
  readonly firstSeqs = new Map<string, number[]>();
  /** Per actor, the `f` each of its group appends was sent with (null: gap check skipped). */
  readonly sentFirst = new Map<string, Array<number | null>>();
  /** Appends run alone (the retry path), in order. */
  readonly alone: string[] = [];
  /** Statements for this actor fail, as a constraint violation or a deadlock would. */
  failingActor: string | undefined;
  failureCode = "40P01";
  /** The connection breaks after a group statement was sent: its outcome is unknown. */
  commitFails = false;
  /** When set, the first group statement waits for `releaseCommit()`; `firstCommitHeld` tells it got there. */
  holdFirstCommit = false;
  readonly firstCommitHeld: Promise<void>;
  #held!: () => void;
  #release: (() => void) | null = null;
  #statements = 0;

  constructor() {
    this.firstCommitHeld = new Promise((resolve) => (this.#held = resolve));
  }

  releaseCommit(): void {
    this.#release?.();
  }

  async query(): Promise<SqlRow[]> {
    throw new Error("appends run as statements of their own");
  }

  async statement(text: string, params: readonly unknown[] = []): Promise<SqlRow[]> {
    if (text === SQL.append) {
      this.alone.push(this.#answer(String(params[0])));
      return [{ epoch_ok: 1, inserted: (JSON.parse(String(params[2])) as unknown[]).length, dups: [] }];
    }
    if (text === SQL.appendContinuing) return this.#continuing(JSON.parse(String(params[0])) as Array<{ a: string; s: number }>);
    const heads = JSON.parse(String(params[0])) as Array<{ i: number; a: string; f: number | null }>;
    const actors = heads.map((h) => this.#answer(h.a));
    await this.#commitPoint();
    this.committed.push(actors);
    const rows = JSON.parse(String(params[1])) as Array<{ i: number; s: number }>;
    for (const h of heads) {
      this.firstSeqs.set(h.a, [...(this.firstSeqs.get(h.a) ?? []), rows.find((r) => r.i === h.i)?.s ?? 0]);
      this.sentFirst.set(h.a, [...(this.sentFirst.get(h.a) ?? []), h.f]);
    }
    return heads.map((h) => ({ i: h.i, epoch_ok: true, dups: null, tail_ok: true }));
  }

  /** `SQL.appendContinuing`: one row per entry, naming its actor; sent without a gap check (null). */
  async #continuing(rows: Array<{ a: string; s: number }>): Promise<SqlRow[]> {
    const actors = [...new Set(rows.map((r) => this.#answer(r.a)))];
    await this.#commitPoint();
    this.committed.push(actors);
    for (const a of actors) {
      this.firstSeqs.set(a, [...(this.firstSeqs.get(a) ?? []), rows.find((r) => r.a === a)!.s]);
      this.sentFirst.set(a, [...(this.sentFirst.get(a) ?? []), null]);
    }
    return rows.map((r) => ({ actor_id: r.a }));
  }

  /** Where a group statement waits when held, and breaks when the commit fails. */
  async #commitPoint(): Promise<void> {
    if (this.#statements++ === 0 && this.holdFirstCommit) {
      const released = new Promise<void>((resolve) => (this.#release = resolve));
      this.#held();
      await released;
    }
    if (this.commitFails) throw new StoreCommitUnknownError("Cannot tell whether the statement committed: connection lost");
  }

  async transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    return work(this);
  }

  async close(): Promise<void> {}

  #answer(actor: string): string {
    if (actor === this.failingActor) {
      throw Object.assign(new Error(`statement failed for ${actor}`), { code: this.failureCode, severity: "ERROR" });
    }
    return actor;
  }
}

const batch: JournalEntry[] = [{ seq: 1, clientId: "c-1", sender: "ann", body: "hi", ts: 1 }];
const append = (g: GroupCommit, actorId: string, entries = batch) => g.append({ actorId, epoch: 1, entries });

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

  it("group commit - with a macrotask gather, appends queued behind a statement form one group", async () => {
    // PGlite blocks its thread during a statement: requests arriving meanwhile are port messages,
    // delivered as macrotasks once it returns. They must share the next group, not make one each.
    const sql = new FakeSql();
    sql.holdFirstCommit = true;
    const g = new GroupCommit(sql, { gather: (fn) => setImmediate(fn) });
    const first = append(g, "a");
    await sql.firstCommitHeld;
    const later: Promise<unknown>[] = [];
    for (const id of ["b", "c", "d"]) setImmediate(() => later.push(append(g, id)));
    sql.releaseCommit();
    await first;
    while (later.length < 3) await new Promise((r) => setImmediate(r));
    await Promise.all(later);
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

  it("group commit - an actor's later append waits for its earlier one and lands after it", async () => {
    const sql = new FakeSql();
    const g = new GroupCommit(sql, { maxInFlight: 2 });
    const second: JournalEntry[] = [{ ...batch[0]!, seq: 2, clientId: "c-2" }];
    const outcomes = await Promise.all([append(g, "a"), append(g, "b"), append(g, "a", second)]);
    expect(outcomes).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(sql.committed).toEqual([["a", "b"], ["a"]]);
  });

  it("group commit - with a group held, other actors' appends commit in a second group meanwhile", async () => {
    const sql = new FakeSql();
    sql.holdFirstCommit = true;
    const g = new GroupCommit(sql, { maxInFlight: 2 });
    const first = append(g, "a");
    await sql.firstCommitHeld;
    expect(await Promise.all(["b", "c"].map((id) => append(g, id)))).toEqual([{ ok: true }, { ok: true }]);
    expect(sql.committed).toEqual([["b", "c"]]);
    sql.releaseCommit();
    await first;
    expect(sql.committed).toEqual([["b", "c"], ["a"]]);
  });

  it("group commit - a group holds at most maxAppends appends and maxEntries entries", async () => {
    const sql = new FakeSql();
    const g = new GroupCommit(sql, { maxAppends: 2, maxEntries: 3 });
    const two: JournalEntry[] = [batch[0]!, { ...batch[0]!, seq: 2, clientId: "c-2" }];
    await Promise.all([append(g, "a"), append(g, "b"), append(g, "c"), append(g, "d", two), append(g, "e", two)]);
    expect(sql.committed).toEqual([["a", "b"], ["c", "d"], ["e"]]);
  });

  it("group commit - drain waits for every append submitted before it", async () => {
    const sql = new FakeSql();
    sql.holdFirstCommit = true;
    const g = new GroupCommit(sql);
    const pending = [append(g, "a"), append(g, "a", [{ ...batch[0]!, seq: 2, clientId: "c-2" }])];
    let drained = false;
    const drain = g.drain().then(() => (drained = true));
    await sql.firstCommitHeld;
    expect(drained).toBe(false);
    sql.releaseCommit();
    await drain;
    expect(sql.committed).toEqual([["a"], ["a"]]);
    await Promise.all(pending);
  });

  it("group commit - in lanes, a held lane keeps its own actors waiting while the other lane commits", async () => {
    const sql = new FakeSql();
    sql.holdFirstCommit = true;
    const g = new GroupCommit(sql, { maxInFlight: 2, lanes: true });
    const ids = Array.from({ length: 16 }, (_, i) => `channel:${i}`);
    const first = append(g, ids[0]!);
    await sql.firstCommitHeld;
    const rest = ids.slice(1).map((id) => ({ id, done: append(g, id) }));
    // Settle what can settle while the first lane is held.
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    const committed = sql.committed.flat();
    // Both lanes are used by 16 ids, and none of the held lane's actors committed meanwhile.
    expect(committed.length).toBeGreaterThan(0);
    expect(committed.length).toBeLessThan(15);
    sql.releaseCommit();
    await first;
    expect(await Promise.all(rest.map((r) => r.done))).toEqual(rest.map(() => ({ ok: true })));
    // The held lane's actors went in one group after the release: their lane, not a free slot, decided.
    const late = sql.committed.slice(-1)[0]!;
    expect(new Set([...late, ...committed, ids[0]!])).toEqual(new Set(ids));
    expect(late.some((id) => committed.includes(id))).toBe(false);
  });

  it("group commit - in lanes, an actor's appends always go through the same lane, in order", async () => {
    const sql = new FakeSql();
    const g = new GroupCommit(sql, { maxInFlight: 3, lanes: true });
    const entry = (seq: number): JournalEntry[] => [{ ...batch[0]!, seq, clientId: `c-${seq}` }];
    const outcomes = await Promise.all([1, 2, 3].flatMap((seq) => ["x", "y", "z"].map((id) => append(g, id, entry(seq)))));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    // Each actor committed three times, each time in a different statement, in the order issued,
    // and no statement had an actor twice.
    for (const id of ["x", "y", "z"]) expect(sql.committed.filter((grp) => grp.includes(id))).toHaveLength(3);
    for (const id of ["x", "y", "z"]) expect(sql.firstSeqs.get(id)).toEqual([1, 2, 3]);
    for (const grp of sql.committed) expect(new Set(grp).size).toBe(grp.length);
  });

  it("group commit - an append right after one it committed skips the gap check; a first append, a gap, and one after a failure do not", async () => {
    const sql = new FakeSql();
    const g = new GroupCommit(sql);
    const at = (seq: number): JournalEntry[] => [{ ...batch[0]!, seq, clientId: `c-${seq}` }];
    for (const seq of [1, 2, 4, 5]) expect(await append(g, "x", at(seq))).toEqual({ ok: true });
    sql.failingActor = "x";
    await expect(append(g, "x", at(6))).rejects.toBeInstanceOf(StoreQueryError);
    sql.failingActor = undefined;
    expect(await append(g, "x", at(6))).toEqual({ ok: true });
    sql.commitFails = true;
    await expect(append(g, "x", at(7))).rejects.toBeInstanceOf(StoreCommitUnknownError);
    sql.commitFails = false;
    expect(await append(g, "x", at(7))).toEqual({ ok: true });
    expect(await append(g, "x", at(8))).toEqual({ ok: true });
    // Statements that reached the fake (the failing ones threw before): null = gap check skipped.
    expect(sql.sentFirst.get("x")).toEqual([1, null, 4, null, 6, 7, null]);
    expect(sql.firstSeqs.get("x")).toEqual([1, 2, 4, 5, 6, 7, 8]);
  });

  it("group commit - its stats count the statements that returned, their appends and entries", async () => {
    const sql = new FakeSql();
    const g = new GroupCommit(sql);
    const two: JournalEntry[] = [batch[0]!, { ...batch[0]!, seq: 2, clientId: "c-2" }];
    await Promise.all([append(g, "a"), append(g, "b", two)]);
    await append(g, "c");
    const s = g.stats.snapshot();
    expect(s).toMatchObject({ statements: 2, appends: 3, entries: 4 });
    expect(s.buckets.reduce((x, y) => x + y, 0)).toBe(2);
  });
});
