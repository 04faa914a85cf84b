// The connections benchmark's command line (see conns_bench.ts for what each flag means).
import path from 'node:path';
import { flags } from './args.ts';
import { CONNS_TARGETS, type ConnsTarget } from './conns_common.ts';
import { REPO_ROOT } from './fanout_procs.ts';

/** Sockets one server process may hold: open files are capped at 20,000 per process. */
const MAX_PER_PROCESS = 19_500;
/** Source ports a load process binds on its own address (2,000-32,000, see conns_load_worker.ts). */
const MAX_PER_LOAD_PROCESS = 25_000;

export function parseConnsArgs(argv: string[]) {
  const { get, num, int, done } = flags(argv);
  const targets = get('targets', get('target', CONNS_TARGETS.join(','))).split(',').map((s) => s.trim()).filter(Boolean);
  for (const t of targets) if (!CONNS_TARGETS.includes(t as ConnsTarget)) throw new Error(`unknown target ${t} (${CONNS_TARGETS.join(', ')})`);
  const mode = get('mode', 'cluster');
  if (mode !== 'cluster' && mode !== 'standalone') throw new Error('--mode: cluster or standalone');
  const o = {
    connections: int('connections', 2000, 1),
    nodes: int('nodes', 2, 1),
    loadProcs: int('load-procs', 2, 1, 200),
    ramp: num('ramp', 0),
    hold: Math.min(num('hold', 5), 3600),
    targets: targets as ConnsTarget[],
    json: get('json', ''),
    mode: mode as 'cluster' | 'standalone',
    stormWorkers: int('storm-workers', 1, 1),
    leaseMs: int('lease-ms', 3000, 1000),
    concurrency: int('concurrency', 128, 1),
    settle: num('settle', 3),
    connectTimeout: num('connect-timeout', 600),
    readyTimeout: num('ready-timeout', 60),
    stormBin: path.resolve(get('storm-bin', path.join(REPO_ROOT, 'dist/bin/storm.js'))),
    serverNodeArgs: get('server-node-args', '').split(' ').filter(Boolean),
    /** Seconds a server gets to exit on SIGTERM before SIGKILL (a Storm node profiled with --cpu-prof writes its profiles on exit, after draining). */
    stopGrace: num('stop-grace', 3),
  };
  done('connections benchmark (scenario d): node dist-tools/tools/bench/conns_bench.js [flags]; bench/conns_bench.ts explains them');
  if (o.connections / o.nodes > MAX_PER_PROCESS) {
    throw new Error(`--connections ${o.connections} over --nodes ${o.nodes} is more than ${MAX_PER_PROCESS} sockets per server process (open files are capped at 20,000): use more nodes`);
  }
  if (o.connections / o.loadProcs > Math.min(MAX_PER_PROCESS, MAX_PER_LOAD_PROCESS)) {
    throw new Error(`--connections ${o.connections} over --load-procs ${o.loadProcs} is more than ${Math.min(MAX_PER_PROCESS, MAX_PER_LOAD_PROCESS)} sockets per load process: use more load processes`);
  }
  return o;
}
export type ConnsOptions = ReturnType<typeof parseConnsArgs>;
