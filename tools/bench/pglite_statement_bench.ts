// The embedded store's group-commit statement run two ways on one PGlite database, alternately in
// one process: `PGlite.query` (the baseline: unnamed statement, parsed and planned per call) and
// `PglitePrepared` (what the store uses). Reports wall time per statement and CPU per row of each.
//
//   node dist-tools/tools/bench/pglite_statement_bench.js [--rows 100] [--actors 1] [--rounds 40] [--per-round 20] [--dir D]
//
// --rows entries per statement, spread over --actors appends; --dir a data directory (default: a
// fresh temporary one, deleted at the end; "memory" keeps the database in memory).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { groupParams } from '../../storage/journal_append.ts';
import type { AppendRequest } from '../../storage/store.ts';
import { MIGRATIONS } from '../../storage/migrations.ts';
import { PglitePrepared } from '../../storage/pglite_prepared.ts';
import { SQL } from '../../storage/statements.ts';
import type { JournalEntry } from '../../storage/store.ts';
import { flags } from './args.ts';

const { get, int, done } = flags(process.argv.slice(2));
const rows = int('rows', 100, 1);
const actors = int('actors', 1, 1, rows);
const rounds = int('rounds', 40, 2);
const perRound = int('per-round', 20, 1);
const dirFlag = get('dir', '');
done('group-commit statement through PGlite.query and PglitePrepared: node dist-tools/tools/bench/pglite_statement_bench.js [flags]');
const tmp = dirFlag ? undefined : await mkdtemp(join(tmpdir(), 'storm-pglite-bench-'));
const db = await PGlite.create(dirFlag === 'memory' ? undefined : (dirFlag || join(tmp!, 'db')));
for (const m of MIGRATIONS) await db.exec(m);
for (let a = 0; a < actors; a++) await db.query("INSERT INTO actor_epochs (actor_id, epoch, owner) VALUES ($1, 1, 'bench')", [`channel:${a}`]);

const seqs = new Array<number>(actors).fill(1);
const body = 'x'.repeat(100);
/** The statement's two parameters for the next `rows` entries, built by the store's own code. */
function nextGroup(): [string, string] {
  const reqs: AppendRequest[] = [];
  for (let a = 0; a < actors; a++) {
    const n = Math.floor(rows / actors) + (a < rows % actors ? 1 : 0);
    const entries: JournalEntry[] = [];
    for (let k = 0; k < n; k++) {
      const s = seqs[a]!++;
      entries.push({ seq: s, clientId: `c-${a}-${s}`, sender: 'bench', body, ts: Date.now() });
    }
    reqs.push({ actorId: `channel:${a}`, epoch: 1, entries });
  }
  return groupParams(reqs, reqs.map((_, i) => i));
}

const prepared = new PglitePrepared(db);
const ways = {
  'PGlite.query': async (p: [string, string]) => (await db.query<Record<string, unknown>>(SQL.appendGroupFast, p)).rows,
  PglitePrepared: (p: [string, string]) => prepared.query(SQL.appendGroupFast, p),
};
const totals = new Map<string, { ms: number; cpuUs: number; statements: number }>();
for (let round = 0; round < rounds; round++) {
  for (const [way, run] of Object.entries(ways)) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let k = 0; k < perRound; k++) {
      const out = await run(nextGroup());
      if (out.length !== actors || !out.every((r) => r.epoch_ok === true && r.tail_ok === true)) {
        throw new Error(`Cannot benchmark: ${way} refused an append: ${JSON.stringify(out[0])}`);
      }
    }
    const cpu = process.cpuUsage(c0);
    // The first rounds warm up both ways (JIT, plan cache, table growth) and are not counted.
    if (round < Math.min(5, rounds / 2)) continue;
    const t = totals.get(way) ?? { ms: 0, cpuUs: 0, statements: 0 };
    t.ms += performance.now() - t0;
    t.cpuUs += cpu.user + cpu.system;
    t.statements += perRound;
    totals.set(way, t);
  }
}
await db.close();
if (tmp) await rm(tmp, { recursive: true, force: true });

console.log(`group-commit statement on PGlite, ${rows} rows in ${actors} append(s) per statement, ${dirFlag === 'memory' ? 'in memory' : 'on disk'}; ` +
  `2 shared cores: the figures move with whatever else runs`);
for (const [way, t] of totals) {
  console.log(`${way.padEnd(15)} ${(t.ms / t.statements).toFixed(2)} ms per statement, ${(t.cpuUs / t.statements / rows).toFixed(1)} µs CPU per row (${t.statements} statements)`);
}
const [base, ours] = [totals.get('PGlite.query')!, totals.get('PglitePrepared')!];
console.log(`PglitePrepared / PGlite.query: wall ${(ours.ms / base.ms).toFixed(2)}, CPU ${(ours.cpuUs / base.cpuUs).toFixed(2)}`);
