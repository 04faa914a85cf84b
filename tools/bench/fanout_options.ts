// The fan-out benchmark's command line (see fanout_bench.ts for what each flag means).
import path from 'node:path';
import { flags } from './args.ts';
import { ALL_TARGETS, type TargetName } from './fanout_common.ts';
import { REPO_ROOT } from './fanout_procs.ts';

export function parseFanoutArgs(argv: string[]) {
  const { get, num, int, has, done } = flags(argv);
  const rateArg = get('rate', '100');
  const targets = get('targets', ALL_TARGETS.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const t of targets) if (!ALL_TARGETS.includes(t as TargetName)) throw new Error(`unknown target ${t}`);
  const channels = int('channels', 1, 1);
  const o = {
    subscribers: int('subscribers', 1000, 1),
    channels,
    perConn: int('per-conn', 1, 1, channels),
    nodes: int('nodes', 1, 1, 8),
    duration: Math.min(num('duration', 10), 300),
    warmup: Math.min(num('warmup', 2), 60),
    rate: rateArg === 'max' ? 0 : num('rate', 100),
    window: int('window', 256, 1),
    size: int('size', 100, 0, 16 * 1024),
    sample: int('sample', 1, 1),
    loadProcs: int('load-procs', 2, 1, 8),
    pubProcs: int('pub-procs', 1, 1, 8),
    ramp: num('ramp', 0),
    targets: targets as TargetName[],
    json: get('json', ''),
    stormBin: path.resolve(get('storm-bin', path.join(REPO_ROOT, 'dist/bin/storm.js'))),
    stormWorkers: get('storm-workers', ''),
    /** Storm stores in a throwaway PostgreSQL (started for the run) instead of embedded PGlite. */
    stormPostgres: has('storm-postgres'),
    /** Extra node flags for Storm processes, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
    stormNodeArgs: get('server-node-args', '').split(' ').filter(Boolean),
    maxRssMB: num('max-rss-mb', 4096),
    /** An already running Storm (ws://host:port or http://..., comma-separated for several nodes): nothing is started. */
    url: get('url', ''),
    /** With --url: pids of the server processes, for memory and CPU (optional). */
    serverPids: get('server-pid', '').split(',').filter(Boolean).map(Number),
  };
  done('fan-out benchmark (scenarios a, b, e): node dist-tools/tools/bench/fanout_bench.js [flags]; bench/fanout_bench.ts explains them');
  return o;
}
export type FanoutOpts = ReturnType<typeof parseFanoutArgs>;
