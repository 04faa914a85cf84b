// The embedded store's group-commit statements run three ways on one PGlite database, alternately
// in one process, on groups whose appends all continue their journals (the steady state: the tail
// memo skips every gap check), both prepared (`PglitePrepared`, as the store runs them):
// `SQL.appendGroupFast` and `SQL.appendContinuing` (what the store runs for such a group). Reports
// wall time per statement, CPU per statement and per row of each (medians of the rounds).
//
//   node dist-tools/tools/bench/pglite_statement_bench.js [--rows 100] [--actors 1] [--channels 1000] [--rounds 40] [--per-round 20] [--dir D]
//
// --rows entries per statement, spread over --actors appends, to the next --actors of --channels
// actors in turn (1,000 rooms: the suite's b1k); --dir a data directory (default: a fresh
// temporary one, deleted at the end; "memory" keeps the database in memory).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { continuingParams, groupParams } from '../../storage/journal_append.ts';
import type { AppendRequest } from '../../storage/store.ts';
import { MIGRATIONS } from '../../storage/migrations.ts';
import { PglitePrepared } from '../../storage/pglite_prepared.ts';
import { PGLITE_START_PARAMS } from '../../storage/pglite_store.ts';
import { SQL } from '../../storage/statements.ts';
import type { JournalEntry } from '../../storage/store.ts';
import { flags } from './args.ts';

const { get, int, done } = flags(process.argv.slice(2));
const rows = int('rows', 100, 1);
const actors = int('actors', 1, 1, rows);
const channels = int('channels', 1000, actors);
const rounds = int('rounds', 40, 2);
const perRound = int('per-round', 20, 1);
const dirFlag = get('dir', '');
done('group-commit statements on PGlite, fast and continuing: node dist-tools/tools/bench/pglite_statement_bench.js [flags]');
const tmp = dirFlag ? undefined : await mkdtemp(join(tmpdir(), 'storm-pglite-bench-'));
const db = await PGlite.create(dirFlag === 'memory' ? undefined : (dirFlag || join(tmp!, 'db')), { startParams: [...PGLITE_START_PARAMS] });
for (const m of MIGRATIONS) await db.exec(m);
for (let a = 0; a < channels; a++) await db.query("INSERT INTO actor_epochs (actor_id, epoch, owner) VALUES ($1, 1, 'bench')", [`channel:${a}`]);

const seqs = new Array<number>(channels).fill(1);
let nextChannel = 0;
const body = 'x'.repeat(100);
/** The next group: `rows` entries spread over `actors` appends, each continuing its journal. */
function nextGroup(): AppendRequest[] {
  const reqs: AppendRequest[] = [];
  for (let k = 0; k < actors; k++) {
    const n = Math.floor(rows / actors) + (k < rows % actors ? 1 : 0);
    const a = nextChannel++ % channels;
    const entries: JournalEntry[] = [];
    for (let j = 0; j < n; j++) {
      const s = seqs[a]!++;
      entries.push({ seq: s, clientId: `c-${a}-${s}`, sender: 'bench', body, ts: Date.now() });
    }
    reqs.push({ actorId: `channel:${a}`, epoch: 1, entries });
  }
  return reqs;
}

const prepared = new PglitePrepared(db);
const all = Array.from({ length: actors }, (_, i) => i);
const continues = all.map(() => true);
/** Each way runs one group and returns how many appends it committed. */
const ways: Record<string, (reqs: AppendRequest[]) => Promise<number>> = {
  fast: async (reqs) => (await prepared.query(SQL.appendGroupFast, groupParams(reqs, all, continues))).filter((r) => r.epoch_ok && r.tail_ok).length,
  continuing: async (reqs) => new Set((await prepared.query(SQL.appendContinuing, [continuingParams(reqs, all)])).map((r) => r.actor_id)).size,
};
const samples = new Map<string, Array<{ us: number; cpuUs: number }>>();
for (let round = 0; round < rounds; round++) {
  for (const [way, run] of Object.entries(ways)) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let k = 0; k < perRound; k++) {
      const committed = await run(nextGroup());
      if (committed !== actors) throw new Error(`Cannot benchmark: ${way} committed ${committed} of ${actors} appends`);
    }
    const cpu = process.cpuUsage(c0);
    // The first rounds warm up every way (JIT, plan cache, table growth) and are not counted.
    if (round < Math.min(5, rounds / 2)) continue;
    const list = samples.get(way) ?? [];
    list.push({ us: ((performance.now() - t0) * 1000) / perRound, cpuUs: (cpu.user + cpu.system) / perRound });
    samples.set(way, list);
  }
}
await db.close();
if (tmp) await rm(tmp, { recursive: true, force: true });

const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`group-commit statements on PGlite, ${rows} rows in ${actors} continuing append(s) per statement, ${dirFlag === 'memory' ? 'in memory' : 'on disk'}, ` +
  `medians of ${samples.get('continuing')!.length} rounds of ${perRound}; 2 shared cores: the figures move with whatever else runs`);
const base = median(samples.get('fast')!.map((x) => x.cpuUs));
for (const [way, list] of samples) {
  const cpu = median(list.map((x) => x.cpuUs));
  console.log(`${way.padEnd(15)} ${median(list.map((x) => x.us)).toFixed(0).padStart(5)} µs per statement, CPU ${cpu.toFixed(0).padStart(5)} µs per statement, ${(cpu / rows).toFixed(1).padStart(6)} per row (${(cpu / base).toFixed(2)}× fast)`);
}
