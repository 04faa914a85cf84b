// What a journal row costs PostgreSQL, by table shape: the backend CPU per row of five ways to
// store the same appends, alternately on one connection to a throwaway PostgreSQL 15 (fsync=on).
//
//   node dist-tools/tools/bench/journal_shape_bench.js [--appends 50] [--rows 5] [--rounds 6] [--statements 400]
//
//   group        the store's group statement (`SQL.appendGroupFast`) on the real schema: fencing
//                (`FOR SHARE` on each actor's epoch row), the gap check, one journal row per
//                message under both of its indexes (primary key, unique client id)
//   group+memo   the same statement with every append known to continue its journal (the store's
//                tail memo: the seq before it was committed by this store), so no gap check
//   plain        the same rows by a plain `INSERT … SELECT` from the same JSON into a copy of the
//                journal (both indexes; no fencing, no gap check)
//   segment+ids  one row per append holding its entries as one text (a "segment"), plus one row
//                per message in a table of (actor, client id) → seq, under its primary key: what
//                a segment journal needs to keep G3's exactly-once without an age limit
//   segment      the segment alone (G3 would then be bounded to the ids held in memory)
//   copy+check   the same rows as the group statement, by `COPY … FROM STDIN` into the real journal
//                behind a statement that takes each actor's epoch row `FOR SHARE` and fails the
//                transaction when one is not current: both sent in one write (extended protocol,
//                one implicit transaction ending at Sync), so one round trip, as the statement
//                has. COPY inserts a page of rows at a time (heap_multi_insert); no gap check
//                (as group+memo), and a duplicate id fails the whole COPY (the store then falls
//                back to the statement, which names the duplicates). The store's form of it is
//                `storage/copy_append.ts`; this variant is its cost, measured beside the others
//   copy+advisory  the same COPY, fenced without row locks: a shared advisory lock per actor
//                (a claim would take it exclusive), then the epoch check without FOR SHARE in a
//                statement of its own (so its snapshot is taken after the locks), then COPY; one
//                write and one implicit transaction, as copy+check
//   copy         COPY alone into a copy of the journal (both indexes), the floor of that form
//
// CPU is the backend's user + system time from /proc (Linux; `cpuSeconds`), over --statements
// statements per round; the variants take turns in every round, in a rotating order. Every
// statement is a named prepared statement, parsed once, as the store sends its statements.
import pg from 'pg';
import { startPostgres } from '../../tests/harness/postgres.ts';
import { COPY_JOURNAL, CopyIn, type CopyStep, copyRows, FENCE_EPOCHS, FENCE_NAME, fenceStep } from '../../storage/copy_append.ts';
import { groupParams } from '../../storage/journal_append.ts';
import type { AppendRequest } from '../../storage/store.ts';
import { MIGRATIONS } from '../../storage/migrations.ts';
import { SQL } from '../../storage/statements.ts';
import { spread } from './ab.ts';
import { flags } from './args.ts';
import { cpuSeconds } from './fanout_procs.ts';

const { int, done } = flags(process.argv.slice(2));
const appends = int('appends', 50, 1);
const rows = int('rows', 5, 1);
const rounds = int('rounds', 6, 2);
const statements = int('statements', 400, 10);
done('PostgreSQL backend CPU per journal row, by table shape: node dist-tools/tools/bench/journal_shape_bench.js [flags]');

const SEGMENT_TABLES = `
  CREATE TABLE seg (actor_id text COLLATE "C" NOT NULL, first_seq bigint NOT NULL, last_seq bigint NOT NULL,
                    epoch bigint NOT NULL, entries text NOT NULL, PRIMARY KEY (actor_id, first_seq));
  CREATE TABLE seg_alone (LIKE seg INCLUDING ALL);
  CREATE TABLE seg_ids (actor_id text COLLATE "C" NOT NULL, client_id text NOT NULL, seq bigint NOT NULL,
                        PRIMARY KEY (actor_id, client_id));
  CREATE TABLE journal_plain (LIKE journal INCLUDING ALL);
  CREATE TABLE journal_copy (LIKE journal INCLUDING ALL)`;

/** Shared advisory locks on the actors' keys, in id order (what a claim's exclusive lock would wait for). */
const ADVISORY_SHARED = `SELECT count(pg_advisory_xact_lock_shared(hashtextextended(id, 0))) FROM (SELECT unnest($1::text[]) AS id ORDER BY 1) ids`;

/** The store's fence without its row locks. */
const FENCE_READ = FENCE_EPOCHS.replace(' FOR SHARE OF a', '');

/** Names parsed on the bench's one connection (each is parsed on its first use, as the store does). */
const parsed = new Set<string>();
function step(name: string, text: string, values: unknown[]): CopyStep {
  const parse = !parsed.has(name);
  parsed.add(name);
  return { name, text, values, parse };
}

/** The store's COPY append (`storage/copy_append.ts`), its fence by row locks, by advisory locks, or none. */
function copyIn(group: AppendRequest[], fence: 'rows' | 'advisory' | 'none'): CopyIn {
  const copy = fence === 'none' ? COPY_JOURNAL.replace('COPY journal ', 'COPY journal_copy ') : COPY_JOURNAL;
  const values = fenceStep(group, false).values; // the actor ids and the epochs, as the store binds them
  const steps = fence === 'rows' ? [step(FENCE_NAME, FENCE_EPOCHS, values)]
    : fence === 'advisory' ? [step('advisory', ADVISORY_SHARED, [values[0]]), step('fence-read', FENCE_READ, values)]
    : [];
  return new CopyIn(steps, copy, copyRows(group)!);
}

const PLAIN = `
  INSERT INTO journal_plain (actor_id, seq, client_id, sender, body, ts, epoch)
  SELECT h.a, r.s, r.c, r.u, r.b, r.t, h.e
  FROM json_to_recordset($2::text::json) AS r(i int, s bigint, c text, u text, b text, t bigint)
  JOIN json_to_recordset($1::text::json) AS h(i int, a text, e bigint, f bigint) ON h.i = r.i`;

const segmentSql = (table: string, withIds: boolean) => `
  WITH req AS MATERIALIZED (
    SELECT * FROM json_to_recordset($1::text::json) AS x(i int, a text, e bigint, f bigint, l bigint, x text)
  ),
  ins AS (INSERT INTO ${table} (actor_id, first_seq, last_seq, epoch, entries) SELECT a, f, l, e, x FROM req RETURNING 1)
  ${withIds ? `, ids AS (
    INSERT INTO seg_ids (actor_id, client_id, seq)
    SELECT req.a, r.c, r.s FROM json_to_recordset($2::text::json) AS r(i int, c text, s bigint) JOIN req ON req.i = r.i
    RETURNING 1)` : ''}
  SELECT count(*) AS n FROM ins`;

type Variant = 'group' | 'group+memo' | 'plain' | 'segment+ids' | 'segment' | 'copy+check' | 'copy+advisory' | 'copy';
const VARIANTS: Variant[] = ['group', 'group+memo', 'plain', 'segment+ids', 'segment', 'copy+check', 'copy+advisory', 'copy'];

const server = await startPostgres({ settings: ['min_wal_size=4GB', 'max_wal_size=8GB'] });
const db = new pg.Client({ connectionString: server.url });
try {
  await db.connect();
  for (const m of MIGRATIONS) await db.query(m);
  await db.query(SEGMENT_TABLES);
  const backend = [Number((await db.query('SELECT pg_backend_pid() AS p')).rows[0].p)];
  // Each variant has actors of its own: the two group variants write the same journal table.
  const actorsOf = (v: Variant) => Array.from({ length: appends }, (_, i) => `channel:${v}-${i}`);
  for (const v of VARIANTS) for (const a of actorsOf(v)) await db.query(SQL.acquireEpoch, [a, 'bench']);
  const last = new Map<string, number>();
  let cid = 0;
  const body = 'x'.repeat(100);

  /** The next group: `appends` appends of `rows` entries each, continuing each (variant, actor) journal. */
  const nextGroup = (v: Variant): AppendRequest[] => actorsOf(v).map((actorId) => {
    const first = (last.get(actorId) ?? 0) + 1;
    last.set(actorId, first + rows - 1);
    return {
      actorId, epoch: 1,
      entries: Array.from({ length: rows }, (_, k) => ({ seq: first + k, clientId: `r1abc-${cid++}-x7`, sender: 'user-1', body, ts: Date.now() })),
    };
  });

  const runOne = async (v: Variant): Promise<void> => {
    const group = nextGroup(v);
    const all = group.map((_, i) => i);
    if (v === 'copy+check' || v === 'copy+advisory' || v === 'copy') {
      const fence = v === 'copy+check' ? 'rows' : v === 'copy+advisory' ? 'advisory' : 'none';
      const copy = copyIn(group, fence);
      await db.query(copy as any);
      await copy.done;
      return;
    }
    if (v === 'plain') {
      await db.query({ name: 'plain', text: PLAIN, values: groupParams(group, all) });
      return;
    }
    if (v === 'group' || v === 'group+memo') {
      const values = groupParams(group, all, v === 'group+memo' ? all.map(() => true) : undefined);
      const result = await db.query({ name: 'group', text: SQL.appendGroupFast, values });
      if (result.rows.some((r) => !r.epoch_ok || !r.tail_ok)) throw new Error('the group statement refused an append');
      return;
    }
    const heads = JSON.stringify(group.map((r, i) => ({
      i, a: r.actorId, e: r.epoch, f: r.entries[0]!.seq, l: r.entries.at(-1)!.seq,
      x: JSON.stringify(r.entries.map((e) => [e.seq, e.clientId, e.sender, e.body, e.ts])),
    })));
    if (v === 'segment') await db.query({ name: 'segment', text: segmentSql('seg_alone', false), values: [heads] });
    else {
      const ids = JSON.stringify(group.flatMap((r, i) => r.entries.map((e) => ({ i, c: e.clientId, s: e.seq }))));
      await db.query({ name: 'segment+ids', text: segmentSql('seg', true), values: [heads, ids] });
    }
  };

  for (const v of VARIANTS) for (let k = 0; k < 30; k++) await runOne(v); // warm-up: plans cached, pages in memory
  // The fenced COPYs must refuse a group holding one stale epoch, and roll all of its rows back.
  for (const [v, fence] of [['copy+check', 'rows'], ['copy+advisory', 'advisory']] as const) {
    const stale = nextGroup(v).map((r, i) => (i === appends - 1 ? { ...r, epoch: r.epoch + 1 } : r));
    const refused = copyIn(stale, fence);
    await db.query(refused as any);
    if (await refused.done.then(() => true, () => false)) throw new Error(`${v} accepted a stale epoch`);
    const leaked = await db.query('SELECT count(*)::int AS n FROM journal WHERE client_id = ANY($1)', [stale.flatMap((r) => r.entries.map((e) => e.clientId))]);
    if (leaked.rows[0].n !== 0) throw new Error(`${v} kept ${leaked.rows[0].n} rows of a refused group`);
    for (const r of stale) last.set(r.actorId, r.entries[0]!.seq - 1);
  }
  const perRow = Object.fromEntries(VARIANTS.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < VARIANTS.length; k++) {
      const v = VARIANTS[(k + r) % VARIANTS.length]!;
      const t0 = cpuSeconds(backend);
      for (let s = 0; s < statements; s++) await runOne(v);
      perRow[v].push(((cpuSeconds(backend) - t0) * 1e6) / (statements * appends * rows));
    }
  }
  console.log(`PostgreSQL backend CPU per journal row: ${appends} appends × ${rows} rows per statement, ${statements} statements × ${rounds} rounds per shape, one connection; 2 shared cores: the figures move with whatever else runs`);
  const base = spread(perRow.group).mean;
  for (const v of VARIANTS) {
    const { mean, min, max } = spread(perRow[v]);
    console.log(`${v.padEnd(12)} ${mean.toFixed(1).padStart(5)} µs/row [${min.toFixed(1)}–${max.toFixed(1)}]  ${(mean / base).toFixed(2)}× the group statement`);
  }
} finally {
  await db.end().catch(() => {});
  await server.stop();
}
