// The durable-publish benchmark's command line (see durable_bench.ts for what each flag means).
import path from 'node:path';
import { defaultWorkerCount } from '../../server/config.ts';
import { flags } from './args.ts';
import { REPO_ROOT } from './fanout_procs.ts';

export function parseDurableArgs(argv: string[]) {
  const { get, num, int, done } = flags(argv);
  // Storm's own default unless asked (passed explicitly, so the run prints it).
  const workers = int('workers', defaultWorkerCount(), 1);
  const pgPool = int('pg-pool', 4, 1);
  const rate = get('rate', 'max');
  const o = {
    channels: int('channels', 100, 1),
    conns: int('conns', 100, 1),
    window: int('window', 16, 1),
    batch: int('batch', 16, 1, 256),
    rate: rate === 'max' ? 0 : num('rate', 0),
    size: int('size', 100, 0, 16_000),
    duration: Math.min(num('duration', 15), 40),
    warmup: Math.min(num('warmup', 3), 10),
    loadProcs: int('load-procs', 2, 1, 8),
    workers,
    pgPool,
    rawDuration: Math.min(num('raw-duration', 8), 20),
    rawConns: int('raw-conns', 8, 1),
    rawRows: int('raw-rows', 0),
    /** MB of WAL written and checkpointed away before the runs, so that they reuse recycled segments (0: a fresh cluster). */
    walWarm: int('pg-wal-warm', 1024, 0),
    /** Extra PostgreSQL settings, "name=value,name=value" (e.g. to measure what a setting changes). */
    pgSettings: get('pg-settings', '').split(',').filter(Boolean),
    deadline: num('deadline', 90),
    json: get('json', ''),
    stormBin: path.resolve(get('storm-bin', path.join(REPO_ROOT, 'dist/bin/storm.js'))),
    /** Extra node flags for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it. */
    serverNodeArgs: get('server-node-args', '').split(' ').filter(Boolean),
  };
  done('durable publish benchmark (scenario c): node dist-tools/tools/bench/durable_bench.js [flags]; bench/durable_bench.ts explains them');
  return o;
}
export type DurableOptions = ReturnType<typeof parseDurableArgs>;
