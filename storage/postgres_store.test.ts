import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { skipPostgres, startPostgres } from "../tests/harness/postgres.ts";
import type { PostgresServer } from "../tests/harness/postgres.ts";
import { FENCE_EPOCHS } from "./copy_append.ts";
import { StoreCommitUnknownError } from "./errors.ts";
import { appendGroup, appendOnce } from "./journal_append.ts";
import { openPostgresStore } from "./postgres_store.ts";
import type { SqlQueryable } from "./sql_client.ts";
import { SQL } from "./statements.ts";
import type { JournalEntry, Store } from "./store.ts";
import { runStoreConformance } from "./store_conformance.ts";

// Without PostgreSQL binaries these tests fail with the harness's message, unless STORM_SKIP_PG=1.
describe.skipIf(skipPostgres)("postgres", () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });

  runStoreConformance("postgres", () => openPostgresStore(server.url, { poolSize: 4 }), { durable: true });

  describe("postgres store", () => {
    let store: Store;
    /** A second session, standing for another node's transaction caught mid-flight. */
    let other: pg.Client;
    /** Watches the lock manager from outside both transactions. */
    let monitor: pg.Client;
    const actor = () => `pg:${randomUUID()}`;

    beforeEach(async () => {
      store = await openPostgresStore(server.url, { poolSize: 4 });
      other = new pg.Client(server.url);
      monitor = new pg.Client(server.url);
      await Promise.all([other.connect(), monitor.connect()]);
    });
    afterEach(async () => {
      await Promise.all([store.close(), other.end(), monitor.end()]);
    });

    /** Resolves with its query once some session waits on a lock that `other` holds; fails if `call` settles first. */
    async function blockedByOther(call: Promise<unknown>): Promise<string> {
      let settled = false;
      void call.finally(() => (settled = true)).catch(() => {});
      const [{ pid }] = (await other.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows as [{ pid: number }];
      for (;;) {
        if (settled) throw new Error("The call did not wait for the lock held by the other session");
        const { rows } = await monitor.query("SELECT query FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", [pid]);
        if (rows.length > 0) return String(rows[0].query);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }

    // An actor's first append runs the statement; once the store committed one, the next goes by
    // COPY behind its fence (`storage/copy_append.ts`). Fencing and commit-unknown hold for both.
    const WRITES = [
      { how: "the statement", committed: 0, waits: SQL.appendGroupFast },
      { how: "COPY", committed: 2, waits: FENCE_EPOCHS },
    ];

    it.each(WRITES)("postgres store - an append by $how waiting on an uncommitted acquireEpoch is fenced once it commits", async ({ committed, waits }) => {
      const id = actor();
      const old = await store.acquireEpoch(id, "node-a");
      if (committed > 0) expect(await store.append(id, old, entries(1, committed))).toEqual({ ok: true });
      const before = store.commitStats!().copies;
      await other.query("BEGIN");
      await other.query(SQL.acquireEpoch, [id, "node-b"]);
      const append = store.append(id, old, entries(committed + 1, 2));
      const blocked = await blockedByOther(append); // pg_stat_activity keeps the text's first 1 KB
      expect(blocked.length).toBeGreaterThan(0);
      expect(waits.slice(0, blocked.length)).toBe(blocked);
      await other.query("COMMIT");
      expect(await append).toEqual({ ok: false, reason: "fenced" });
      expect(store.commitStats!().copies).toBe(before);
      expect(await store.bounds(id)).toEqual(committed > 0 ? { first: 1, last: committed } : { first: 0, last: 0 });
    });

    it("postgres store - an acquireEpoch waits for an uncommitted append and fences only later writes", async () => {
      const id = actor();
      const epoch = await store.acquireEpoch(id, "node-a");
      const otherTx: SqlQueryable = { query: async (text, params) => (await other.query(text, params as unknown[])).rows };
      await other.query("BEGIN");
      expect(await appendOnce(otherTx, { actorId: id, epoch, entries: entries(1, 2) })).toEqual({ ok: true });
      const acquire = store.acquireEpoch(id, "node-b");
      await blockedByOther(acquire);
      await other.query("COMMIT");
      expect(await acquire).toBe(epoch + 1);
      expect(await store.readAfter(id, 0, 10)).toEqual(entries(1, 2));
      expect(await store.append(id, epoch, entries(3, 1))).toEqual({ ok: false, reason: "fenced" });
    });

    it("postgres store - in one group, the append blocked by an uncommitted acquireEpoch is fenced and its neighbour commits", async () => {
      const [a, b] = [actor(), actor()];
      const oldA = await store.acquireEpoch(a, "node-a");
      const epochB = await store.acquireEpoch(b, "node-a");
      await other.query("BEGIN");
      await other.query(SQL.acquireEpoch, [a, "node-b"]);
      const appendA = store.append(a, oldA, entries(1, 2));
      const appendB = store.append(b, epochB, entries(1, 2));
      await blockedByOther(appendA);
      await other.query("COMMIT");
      expect(await Promise.all([appendA, appendB])).toEqual([{ ok: false, reason: "fenced" }, { ok: true }]);
      expect(await store.bounds(a)).toEqual({ first: 0, last: 0 });
      expect(await store.readAfter(b, 0, 10)).toEqual(entries(1, 2));
    });

    it("postgres store - PGlite's continuing statement, run here: an append waiting on an uncommitted acquireEpoch is fenced whole and its neighbour commits", async () => {
      const [a, b] = [actor(), actor()];
      const epochs = [await store.acquireEpoch(a, "node-a"), await store.acquireEpoch(b, "node-a")];
      const writer = new pg.Client(server.url);
      await writer.connect();
      try {
        const sent: string[] = [];
        // No `appendByCopy`: a group whose appends all continue their journals is SQL.appendContinuing.
        const q: SqlQueryable = {
          query: async (text, params) => {
            sent.push(text);
            return (await writer.query(text, params as unknown[])).rows;
          },
        };
        const group = (from: number) => [a, b].map((actorId, i) => ({ actorId, epoch: epochs[i]!, entries: entries(from, 2) }));
        expect(await appendGroup(q, group(1), [true, true])).toEqual([{ ok: true }, { ok: true }]);
        await other.query("BEGIN");
        await other.query(SQL.acquireEpoch, [a, "node-b"]);
        const append = appendGroup(q, group(3), [true, true]);
        const blocked = await blockedByOther(append);
        expect(SQL.appendContinuing.slice(0, blocked.length)).toBe(blocked);
        await other.query("COMMIT");
        expect(await append).toEqual([{ ok: false, reason: "fenced" }, { ok: true }]);
        expect(sent).toEqual([SQL.appendContinuing, SQL.appendContinuing]);
        expect(await store.readAfter(a, 0, 10)).toEqual(entries(1, 2));
        expect(await store.readAfter(b, 0, 10)).toEqual(entries(1, 4));
      } finally {
        await writer.end();
      }
    });

    it.each(WRITES)("postgres store - an append by $how whose session is killed mid-write is rejected as commit-unknown", async ({ committed, waits }) => {
      const id = actor();
      const old = await store.acquireEpoch(id, "node-a");
      if (committed > 0) expect(await store.append(id, old, entries(1, committed))).toEqual({ ok: true });
      await other.query("BEGIN");
      await other.query(SQL.acquireEpoch, [id, "node-b"]);
      const append = store.append(id, old, entries(committed + 1, 1));
      const blocked = await blockedByOther(append); // pg_stat_activity keeps the text's first 1 KB
      expect(blocked.length).toBeGreaterThan(0);
      expect(waits.slice(0, blocked.length)).toBe(blocked);
      await monitor.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
        [(await other.query("SELECT pg_backend_pid() AS pid")).rows[0].pid],
      );
      await expect(append).rejects.toBeInstanceOf(StoreCommitUnknownError);
      await other.query("ROLLBACK");
      expect(await store.append(id, old, entries(committed + 1, 1))).toEqual({ ok: true });
      expect(await store.bounds(id)).toEqual({ first: 1, last: committed + 1 });
    });

    it("postgres store - a group of appends that continue their journals is one statement, a gap costs a second", async () => {
      const ids = Array.from({ length: 4 }, actor);
      const epochs = await Promise.all(ids.map((id) => store.acquireEpoch(id, "node-a")));
      const sent: string[] = [];
      const counted: SqlQueryable = {
        query: async (text, params) => {
          sent.push(text);
          return (await other.query(text, params as unknown[])).rows;
        },
      };
      const group = (first: (i: number) => number) => ids.map((actorId, i) => ({ actorId, epoch: epochs[i]!, entries: entries(first(i), 3) }));
      // Empty journals, then journals that end just before: the fast statement alone decides.
      expect(await appendGroup(counted, group(() => 1))).toEqual(ids.map(() => ({ ok: true })));
      expect(await appendGroup(counted, group(() => 4))).toEqual(ids.map(() => ({ ok: true })));
      expect(sent).toEqual([SQL.appendGroupFast, SQL.appendGroupFast]);
      // One append leaves a gap: the careful statement runs for it alone, its neighbours committed.
      sent.length = 0;
      expect(await appendGroup(counted, group((i) => (i === 2 ? 9 : 7)))).toEqual(ids.map((_, i) => (i === 2 ? { ok: false, reason: "conflict" } : { ok: true })));
      expect(sent).toEqual([SQL.appendGroupFast, SQL.appendGroup]);
      expect(await Promise.all(ids.map((id) => store.bounds(id)))).toEqual(ids.map((_, i) => ({ first: 1, last: i === 2 ? 6 : 9 })));
    });

    it("postgres store - an append this store believes continues its journal is refused when another store extended it meanwhile", async () => {
      // The store remembers that it committed seq 3, so its next append (seq 4) skips the gap
      // check; a second store with the same epoch (a stale view, as no real owner has) wrote 4–5
      // in between. The primary key refuses the overlap, and the careful path names it.
      const id = actor();
      const epoch = await store.acquireEpoch(id, "node-a");
      const second = await openPostgresStore(server.url, { poolSize: 1 });
      try {
        expect(await store.append(id, epoch, entries(1, 3))).toEqual({ ok: true });
        expect(await second.append(id, epoch, entries(4, 2))).toEqual({ ok: true });
        expect(await store.append(id, epoch, entries(4, 1, "late"))).toEqual({ ok: false, reason: "conflict" });
        // The refusal cleared the memo: a gap is now caught by the full check, and the journal
        // continues where it really ends.
        expect(await store.append(id, epoch, entries(7, 1, "gap"))).toEqual({ ok: false, reason: "conflict" });
        expect(await store.append(id, epoch, entries(6, 1, "next"))).toEqual({ ok: true });
        expect(await store.bounds(id)).toEqual({ first: 1, last: 6 });
        expect((await store.readAfter(id, 3, 10)).map((e) => e.clientId)).toEqual(["c-4", "c-5", "next-6"]);
      } finally {
        await second.close();
      }
    });

    it("postgres store - appends after the first go by COPY and read back exactly, whatever their text holds", async () => {
      const id = actor();
      const epoch = await store.acquireEpoch(id, "node-a");
      const odd = ["tab\there", "line\nbreak", "return\r", "back\\slash \\. \\N", 'quote " \'', "é 中文 😀", "", "\\"];
      const copies = () => store.commitStats!().copies;
      expect(await store.append(id, epoch, entries(1, 1))).toEqual({ ok: true });
      const before = copies();
      const appended = odd.map((body, k) => ({ seq: 2 + k, clientId: `odd\t${k}\n`, sender: `s\\${k}`, body, ts: 1_700_000_000_100 + k }));
      for (const e of appended) expect(await store.append(id, epoch, [e])).toEqual({ ok: true });
      expect(copies() - before).toBe(odd.length);
      expect(await store.readAfter(id, 1, 20)).toEqual(appended);
    });

    it("postgres store - a COPY group holding a journaled client id commits nothing; the statement then names it and commits the rest", async () => {
      // One connection for groups, so both appends below form one group.
      const single = await openPostgresStore(server.url, { poolSize: 2 });
      try {
        const [a, b] = [actor(), actor()];
        const [ea, eb] = await Promise.all([single.acquireEpoch(a, "node-a"), single.acquireEpoch(b, "node-a")]);
        expect(await Promise.all([single.append(a, ea, entries(1, 1)), single.append(b, eb, entries(1, 1))])).toEqual([{ ok: true }, { ok: true }]);
        const retried = { ...entries(2, 1)[0]!, clientId: "c-1" };
        const outcomes = await Promise.all([single.append(a, ea, [retried]), single.append(b, eb, entries(2, 1))]);
        expect(outcomes).toEqual([{ ok: false, reason: "duplicate", existing: new Map([["c-1", 1]]) }, { ok: true }]);
        expect(await single.bounds(a)).toEqual({ first: 1, last: 1 });
        expect(await single.readAfter(b, 0, 10)).toEqual(entries(1, 2));
        // The refusal cleared what the store knew of a's tail: its next group runs the statement,
        // and the one after goes by COPY again.
        const before = single.commitStats!().copies;
        expect(await Promise.all([single.append(a, ea, entries(2, 1)), single.append(b, eb, entries(3, 1))])).toEqual([{ ok: true }, { ok: true }]);
        expect(single.commitStats!().copies).toBe(before);
        expect(await Promise.all([single.append(a, ea, entries(3, 1)), single.append(b, eb, entries(4, 1))])).toEqual([{ ok: true }, { ok: true }]);
        expect(single.commitStats!().copies).toBe(before + 1);
        expect(await single.readAfter(a, 0, 10)).toEqual(entries(1, 3));
      } finally {
        await single.close();
      }
    });

    it("postgres store - appends from 200 concurrent actors share a few transactions", async () => {
      const ids = Array.from({ length: 200 }, actor);
      const epochs = await Promise.all(ids.map((id) => store.acquireEpoch(id, "node-a")));
      // Every write transaction takes one transaction id, so the id counter counts commits.
      const xid = async () => Number((await monitor.query("SELECT pg_current_xact_id()::text::bigint AS x")).rows[0].x);
      const before = await xid();
      const outcomes = await Promise.all(ids.map((id, i) => store.append(id, epochs[i]!, entries(1, 10))));
      const transactions = (await xid()) - before - 1;
      expect(outcomes.every((o) => o.ok)).toBe(true);
      expect(transactions).toBeLessThanOrEqual(5);
    });
  });

  it("postgres store - acknowledged appends survive a server crash", async () => {
    const id = `pg:${randomUUID()}`;
    let store = await openPostgresStore(server.url, { poolSize: 2 });
    const epoch = await store.acquireEpoch(id, "node-a");
    expect(await store.append(id, epoch, entries(1, 3))).toEqual({ ok: true });
    await store.close();
    await server.restart({ crash: true });
    store = await openPostgresStore(server.url, { poolSize: 2 });
    expect(await store.readAfter(id, 0, 10)).toEqual(entries(1, 3));
    expect(await store.currentEpoch(id)).toEqual({ epoch, owner: "node-a" });
    await store.close();
  });
});

function entries(from: number, n: number, prefix = "c"): JournalEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    seq: from + i,
    clientId: `${prefix}-${from + i}`,
    sender: "ann",
    body: `message ${from + i}`,
    ts: 1_700_000_000_000 + from + i,
  }));
}
