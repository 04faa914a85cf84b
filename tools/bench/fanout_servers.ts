// The servers the fan-out benchmark measures: one process per target, a Storm cluster of node
// processes (--nodes), or a Storm someone else runs (--url).
import fs from 'node:fs';
import path from 'node:path';
import { freePortRange, startLocalCluster } from '../../deploy/local_cluster.ts';
import { startPostgres } from '../../deploy/local_postgres.ts';
import { centrifugoBinary, centrifugoCommand, centrifugoSecrets } from './baselines/centrifugo.ts';
import { isStorm, type TargetName } from './fanout_common.ts';
import type { FanoutOpts } from './fanout_options.ts';
import { BENCH_DIR, EXT, freePort, procTree, startServer, waitHttp } from './fanout_procs.ts';

/** The run's Centrifugo secrets, shared by its server and its load processes. */
export const centSecrets = centrifugoSecrets();

function serverCommand(t: TargetName, o: FanoutOpts, port: number, dataDir: string, pgUrl?: string): { cmd: string; args: string[]; env: NodeJS.ProcessEnv } {
  const env = { ...process.env };
  if (isStorm(t)) {
    if (o.stormWorkers) env['STORM_WORKERS'] = o.stormWorkers;
    // Throughput, not abuse: the rate limits' own cost is measured by rate_limit_bench.
    env['STORM_RATE_LIMITS'] = 'off';
    const store = pgUrl ? ['--postgres', pgUrl] : ['--data-dir', dataDir];
    return { cmd: process.execPath, args: [...o.stormNodeArgs, o.stormBin, 'serve', '--port', String(port), ...store], env };
  }
  if (t === 'centrifugo') {
    const found = centrifugoBinary();
    if (!('bin' in found)) throw new Error(found.skip);
    return { ...centrifugoCommand(found.bin, dataDir, port, centSecrets), env };
  }
  const script = path.join(BENCH_DIR, 'baselines', (t === 'socketio' ? 'socketio_server' : 'raw_ws_server') + EXT);
  const args = [...process.execArgv, script, '--port', String(port)];
  if (t === 'raw-batched') args.push('--batch');
  return { cmd: process.execPath, args, env };
}

/** The server under test: one process (group), or a Storm cluster of node processes. */
export interface Servers {
  ports: number[];
  /** pids whose trees are "the server" (RSS, CPU). */
  pids(): number[];
  /** Cluster infrastructure (PostgreSQL, Hazelcast) pids, measured apart. */
  infraPids(): number[];
  guardPgid?: number;
  check(): void;
  stop(): Promise<void>;
}

export async function startSingle(t: TargetName, o: FanoutOpts, tmp: string): Promise<Servers> {
  const port = await freePort();
  const pg = isStorm(t) && o.stormPostgres ? await startPostgres() : undefined;
  const { cmd, args, env } = serverCommand(t, o, port, path.join(tmp, 'data'), pg?.url);
  const server = startServer(cmd, args, env, path.join(tmp, 'server.log'));
  try {
    // a fresh PGlite data dir runs initdb first: ~10 s alone, several times that on a loaded machine
    await waitHttp(port, isStorm(t) ? 90_000 : 20_000, server);
  } catch (e) {
    await server.stop();
    await pg?.stop();
    throw e;
  }
  return {
    ports: [port], pids: () => procTree(server.pid), infraPids: () => (pg ? infraProcesses() : []), guardPgid: server.pid,
    check: () => { if (server.exited()) throw new Error(`server exited during the run:\n${server.tail()}`); },
    stop: async () => { await server.stop(); await pg?.stop(); },
  };
}

export async function startCluster(o: FanoutOpts, log: (s: string) => void): Promise<Servers> {
  const lines: string[] = [];
  const c = await startLocalCluster({
    nodes: o.nodes, basePort: await freePortRange(o.nodes), workers: Number(o.stormWorkers || 1), leaseMs: 3000,
    log: (l) => { lines.push(l); if (lines.length > 200) lines.shift(); },
  });
  const kill = () => { for (const n of c.nodes) n.proc.kill('SIGKILL'); };
  process.on('exit', kill);
  log(`  cluster: ${o.nodes} Storm nodes, PostgreSQL, Hazelcast member ${c.hazelcast}`);
  const nodePids = () => c.nodes.flatMap((n) => procTree(n.proc.pid!));
  return {
    ports: c.nodes.map((n) => n.port),
    pids: nodePids,
    infraPids: () => {
      const mine = new Set([process.pid, ...nodePids()]);
      return infraProcesses().filter((p) => !mine.has(p));
    },
    check: () => {
      const dead = c.nodes.find((n) => n.proc.exitCode !== null || n.proc.signalCode !== null);
      if (dead) throw new Error(`node ${dead.name} exited during the run:\n${lines.slice(-15).join('\n')}`);
    },
    stop: async () => { await c.stop(); process.off('exit', kill); },
  };
}

/** A server someone else runs (--url): measured through --server-pid when given, never stopped. */
export function external(o: FanoutOpts): Servers {
  const urls = o.url.split(',').map((u) => new URL(u.replace(/^ws/, 'http')));
  if (urls.some((u) => u.hostname !== '127.0.0.1' && u.hostname !== 'localhost')) {
    throw new Error('--url: load runs target 127.0.0.1 only');
  }
  return {
    ports: urls.map((u) => Number(u.port || 80)),
    pids: () => o.serverPids.flatMap((p) => procTree(p)),
    infraPids: () => [],
    check: () => {},
    stop: async () => {},
  };
}

/** PostgreSQL and Hazelcast processes started for this run (children of this driver). */
function infraProcesses(): number[] {
  return procTree(process.pid).filter((pid) => {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return cmd.includes('postgres') || cmd.includes('hazelcast');
    } catch { return false; }
  });
}
