import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Store } from "../../storage/store.ts";
import { openPostgresStore } from "../../storage/postgres_store.ts";
import { type PostgresServer, skipPostgres, startPostgres } from "../../tests/harness/postgres.ts";
import { checkHistory } from "./check.ts";
import { runStormCheck } from "./cli.ts";
import { CheckerReadError } from "./errors.ts";
import type { HistoryEvent } from "./history.ts";
import { loadJournalFromPostgres } from "./postgres_journal.ts";

const entry = (seq: number, ts: number) => ({ seq, clientId: `m${seq}`, sender: "alice", body: `body ${seq}`, ts });
const history: HistoryEvent[] = [1, 2, 3].flatMap((seq): HistoryEvent[] => [
  { k: "pub", client: "c1", ch: "g", cid: `m${seq}`, body: `body ${seq}` },
  { k: "ack", client: "c1", ch: "g", cid: `m${seq}`, seq },
]);

// Without PostgreSQL binaries these tests fail with the harness's message, unless STORM_SKIP_PG=1.
describe.skipIf(skipPostgres)("postgres journal", () => {
  let server: PostgresServer;
  let store: Store;
  let before: number;
  beforeAll(async () => {
    server = await startPostgres();
    store = await openPostgresStore(server.url, { poolSize: 2 });
    before = Date.now();
    const first = await store.acquireEpoch("channel:g", "n1");
    expect(await store.append("channel:g", first, [entry(1, before), entry(2, before)])).toEqual({ ok: true });
    const second = await store.acquireEpoch("channel:g", "n2");
    expect(await store.append("channel:g", second, [entry(3, Date.now())])).toEqual({ ok: true });
    expect(await store.append("channel:g", first, [entry(4, Date.now())])).toEqual({ ok: false, reason: "fenced" });
    await store.acquireEpoch("session:alice", "n1");
  });
  afterAll(async () => {
    await store?.close();
    await server?.stop();
  });

  test("postgres journal - the channels' rows and current epochs are loaded and check clean", async () => {
    const journal = await loadJournalFromPostgres(server.url);
    expect(journal.rows.map((r) => [r.ch, r.seq, r.cid, r.sender, r.epoch])).toEqual([
      ["g", 1, "m1", "alice", 1],
      ["g", 2, "m2", "alice", 1],
      ["g", 3, "m3", "alice", 2],
    ]);
    expect(journal.epochs).toHaveLength(1);
    expect(journal.epochs[0]).toMatchObject({ ch: "g", epoch: 2 });
    expect(journal.epochs[0]!.fencedAt).toBeGreaterThanOrEqual(before - 1_000);
    expect(checkHistory(history, journal).violations).toEqual([]);
  });

  test("postgres journal - the channels option loads only those channels", async () => {
    expect(await loadJournalFromPostgres(server.url, { channels: ["h"] })).toEqual({ rows: [], epochs: [] });
  });

  test("postgres journal - storm-check --postgres finds a row slipped in under a fenced epoch", async () => {
    const check = async () => {
      let out = "";
      const code = await runStormCheck(["--history", "/dev/null", "--postgres", server.url, "--json"], { out: (t) => (out += t), err: (t) => (out += t) });
      return { code, kinds: (JSON.parse(out) as { violations: Array<{ kind: string }> }).violations.map((v) => v.kind) };
    };
    expect(await check()).toEqual({ code: 0, kinds: [] });
    const db = new pg.Client({ connectionString: server.url });
    await db.connect();
    try {
      // Bypasses the store's fencing, as a broken store would.
      await db.query(
        `INSERT INTO journal (actor_id, seq, client_id, sender, body, ts, epoch) VALUES ('channel:g', 4, 'stale', 'alice', 'x', $1, 1)`,
        [Date.now()],
      );
    } finally {
      await db.end();
    }
    expect(await check()).toEqual({ code: 1, kinds: ["fenced_write"] });
  });

  test("postgres journal - a channel trimmed by retention loads its floor and checks clean, its acks of trimmed seqs included", async () => {
    const epoch = await store.acquireEpoch("channel:t", "n1");
    const now = Date.now();
    expect(await store.append("channel:t", epoch, [1, 2, 3, 4].map((seq) => entry(seq, now)))).toEqual({ ok: true });
    expect(await store.trim("channel:t", epoch, { uptoSeq: 2, keepSince: Number.MAX_SAFE_INTEGER })).toBe(2);
    const journal = await loadJournalFromPostgres(server.url, { channels: ["t"] });
    expect(journal.epochs).toEqual([expect.objectContaining({ ch: "t", trimmed: 2 })]);
    expect(journal.rows.map((r) => r.seq)).toEqual([3, 4]);
    const acked = [1, 2, 3, 4].flatMap((seq): HistoryEvent[] => [
      { k: "pub", client: "c1", ch: "t", cid: `m${seq}`, body: `body ${seq}` },
      { k: "ack", client: "c1", ch: "t", cid: `m${seq}`, seq },
    ]);
    expect(checkHistory(acked, journal).violations).toEqual([]);
  });

  test("postgres journal - an unreachable database is a typed error", async () => {
    await expect(loadJournalFromPostgres("postgresql://storm@127.0.0.1:1/storm")).rejects.toThrow(CheckerReadError);
    await expect(loadJournalFromPostgres("postgresql://storm@127.0.0.1:1/storm")).rejects.toThrow(/^Cannot load the journal from PostgreSQL: /);
  });
});
