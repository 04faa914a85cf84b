// The servers the connections benchmark measures: per target, --nodes server processes on free
// ports, and for Storm the PostgreSQL and Hazelcast member they share.
import fs from 'node:fs';
import path from 'node:path';
import { SignJWT } from 'jose';
import pg from 'pg';
import { startHazelcast, type HazelcastMember } from '../../deploy/local_hazelcast.ts';
import { startPostgres, type PostgresServer } from '../../deploy/local_postgres.ts';
import { centrifugoBinary, centrifugoCommand } from './baselines/centrifugo.ts';
import { sleep, type ConnsTarget } from './conns_common.ts';
import type { ConnsOptions } from './conns_options.ts';
import { BENCH_DIR, EXT, freePort, startServer, waitHttp, type ServerProc } from './fanout_procs.ts';
import { postmaster } from './postgres_probes.ts';

/** The backing services of a Storm cluster: a throwaway PostgreSQL and (cluster mode) a Hazelcast member. */
export interface Services {
  pg: PostgresServer;
  pgPid: number;
  hz?: HazelcastMember;
  hzPid?: () => number | undefined;
  stop(): Promise<void>;
}

export async function startServices(o: ConnsOptions, log: (s: string) => void): Promise<Services> {
  const pgServer = await startPostgres();
  const db = new pg.Client({ connectionString: pgServer.url });
  await db.connect();
  const { pid: pgPid } = await postmaster(db);
  await db.end();
  // A driver that dies must not leave PostgreSQL behind (the harness cleans up only on stop()).
  const killPg = () => { try { process.kill(pgPid, 'SIGQUIT'); } catch { /* gone */ } };
  process.on('exit', killPg);
  log(`  postgresql: ${pgServer.url} (pid ${pgPid})`);
  let hz: HazelcastMember | undefined;
  if (o.mode === 'cluster') {
    hz = await startHazelcast().catch(async (e) => { await pgServer.stop(); throw e; });
    log(`  hazelcast member: ${hz.address} (cluster ${hz.clusterName})`);
  }
  // The member is the java process deploy/hazelcast.sh exec'd: a child of this process.
  const hzPid = () => {
    if (!hz) return undefined;
    for (const d of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === process.pid && fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('HazelcastMemberStarter')) return Number(d);
      } catch { /* gone */ }
    }
    return undefined;
  };
  return {
    pg: pgServer, pgPid, hz, hzPid,
    async stop() {
      await hz?.stop().catch(() => {});
      await pgServer.stop().catch(() => {});
      process.off('exit', killPg);
    },
  };
}

/** Signs a token the way a node's Authenticator checks it (edge/auth.ts). */
function adminToken(secret: string): Promise<string> {
  return new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('bench-ops').setIssuer('storm')
    .setIssuedAt().setExpirationTime('2h').sign(new TextEncoder().encode(secret));
}

export async function startServers(t: ConnsTarget, o: ConnsOptions, tmp: string, services: Services | undefined, secret: string, log: (s: string) => void): Promise<{ servers: ServerProc[]; ports: number[] }> {
  const servers: ServerProc[] = [];
  const ports: number[] = [];
  for (let i = 0; i < o.nodes; i++) {
    const port = await freePort();
    let args: string[];
    if (t === 'centrifugo') {
      const found = centrifugoBinary();
      if (!('bin' in found)) throw new Error(found.skip);
      const c = centrifugoCommand(found.bin, path.join(tmp, `n${i + 1}`), port, { tokenSecret: secret, apiKey: secret });
      servers.push(startServer(c.cmd, c.args, { ...process.env }, path.join(tmp, `server${i + 1}.log`)));
      ports.push(port);
      continue;
    }
    if (t === 'storm') {
      args = [...o.serverNodeArgs, o.stormBin, 'serve', '--port', String(port), '--node-id', `n${i + 1}`,
        '--data-dir', path.join(tmp, `n${i + 1}`), '--workers', String(o.stormWorkers), '--postgres', services!.pg.url,
        '--rate-limits', 'off'];
      if (services!.hz) {
        args.push('--cluster', services!.hz.address, '--cluster-name', services!.hz.clusterName, '--lease-ms', String(o.leaseMs));
      }
    } else {
      const script = path.join(BENCH_DIR, 'baselines', (t === 'socketio' ? 'socketio_server' : 'raw_ws_server') + EXT);
      args = [...process.execArgv, ...o.serverNodeArgs, script, '--port', String(port)];
    }
    // Secrets by environment, never argv (ps shows argv to every local user).
    const env = t === 'storm' ? { ...process.env, STORM_JWT_SECRET: secret, STORM_CLUSTER_SECRET: secret } : { ...process.env };
    servers.push(startServer(process.execPath, args, env, path.join(tmp, `server${i + 1}.log`)));
    ports.push(port);
  }
  await Promise.all(servers.map((s, i) => waitHttp(ports[i]!, 60_000, s)));
  if (t === 'storm' && services?.hz) {
    // Every node must see every other before the first connection, or sessions get placed on a partial view.
    const token = await adminToken(secret);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const seen = await Promise.all(ports.map(async (p) => {
        try {
          const r = await fetch(`http://127.0.0.1:${p}/admin/nodes`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(2000) });
          return r.ok ? ((await r.json()) as { nodes: unknown[] }).nodes.length : 0;
        } catch { return 0; }
      }));
      if (seen.every((n) => n === o.nodes)) break;
      if (Date.now() > deadline) throw new Error(`cluster membership did not settle: nodes see ${seen.join(', ')} of ${o.nodes}`);
      await sleep(200);
    }
    log(`  ${o.nodes} nodes see each other`);
  }
  return { servers, ports };
}

/** V8 heap used and committed by Storm nodes (main thread + actor workers), from /metrics; undefined elsewhere. */
export async function heapBytes(ports: number[]): Promise<{ used: number; committed: number } | undefined> {
  let used = 0;
  let committed = 0;
  for (const p of ports) {
    try {
      const r = await fetch(`http://127.0.0.1:${p}/metrics`, { signal: AbortSignal.timeout(5000) });
      if (!r.ok) return undefined;
      const text = await r.text();
      const lines = [...text.matchAll(/^storm_heap_used_bytes\{[^}]*\} (\d+)$/gm)];
      if (lines.length === 0) return undefined;
      for (const m of lines) used += Number(m[1]);
      for (const m of text.matchAll(/^storm_heap_committed_bytes\{[^}]*\} (\d+)$/gm)) committed += Number(m[1]);
    } catch { return undefined; }
  }
  return { used, committed };
}
