// Connections benchmark, scenario (d): as many idle WebSocket connections as the machine holds,
// across several server processes, with the server memory each one costs. Storm is measured
// against a raw `ws` server, Socket.IO and Centrifugo (independent processes, memory engine;
// skipped when Go is absent) holding the same connections, in the same run.
//
//   node dist-tools/tools/bench/conns_bench.js [--connections 2000] [--nodes 2] [--load-procs 2] [--ramp 0]
//        [--hold 5] [--targets raw,socketio,centrifugo,storm] [--json out.json] [--mode cluster|standalone]
//        [--storm-workers 1] [--lease-ms 3000] [--concurrency 128] [--settle 3] [--connect-timeout 600]
//        [--storm-bin dist/bin/storm.js] [--server-node-args "--max-old-space-size=..."] [--stop-grace 3]
//   (or: npx tsx bench/conns_bench.ts ...)
//
// Per target: --nodes server processes (each its own process group, each on its own port);
// --load-procs load processes, process i on source address 127.0.0.(2+i), each spreading its
// connections round-robin over the servers. --ramp is the total connects/s (0: as fast as
// --concurrency handshakes in flight per load process allow). Storm runs as a real cluster
// (PostgreSQL + a Hazelcast member, shared JWT secret, given by STORM_JWT_SECRET: the load processes sign HS256 tokens
// themselves); --mode standalone runs N independent nodes on PostgreSQL instead.
// Memory per connection = (sum of the server processes' RSS once all are connected and settled -
// the same before the first connection) / connections.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { flags } from './args.ts';
import { build, decodeFromCompressedBase64 } from 'hdr-histogram-js';
import { SignJWT } from 'jose';
import pg from 'pg';
import { startHazelcast, type HazelcastMember } from '../../deploy/local_hazelcast.ts';
import { startPostgres, type PostgresServer } from '../../deploy/local_postgres.ts';
import { centrifugoBinary, centrifugoCommand } from './baselines/centrifugo.ts';
import { CONNS_TARGETS, sleep, type ConnsProgress, type ConnsTarget, type ConnsWorkerInit, type ConnsWorkerReport } from './conns_common.ts';
import {
  cpuSeconds, freePort, machineCpu, makeTempDir, procTree, removeTempDir, rssBytes, startServer, waitHttp, Worker, type ServerProc,
} from './fanout_procs.ts';

const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, EXT === '.ts' ? '../..' : '../../..');
const MB = 1024 * 1024;
/** Sockets one server process may hold: open files are capped at 20,000 per process. */
const MAX_PER_PROCESS = 19_500;
/** Source ports a load process binds on its own address (2,000-32,000, see conns_load_worker.ts). */
const MAX_PER_LOAD_PROCESS = 25_000;

function parseArgs(argv: string[]) {
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
    stormBin: path.resolve(get('storm-bin', path.join(repoRoot, 'dist/bin/storm.js'))),
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
type Opts = ReturnType<typeof parseArgs>;

interface ConnsResult {
  target: ConnsTarget;
  mode?: string;
  nodes: number;
  offered: number;
  connected: number;
  failed: number;
  /** Connections still open at the end of the hold. */
  held: number;
  /** When the run failed (e.g. a node exited): connections ready at the last progress sample before it. */
  connectedBeforeFailure?: number;
  /** Ready connections that were closed before the end of the hold. */
  closedDuringRun: number;
  errors: Record<string, number>;
  /** Source ports found taken (TIME_WAIT, other programs) and skipped: not failures. */
  portsSkipped: number;
  errorSamples: Record<string, string>;
  connectSeconds: number;
  connectPerSec: number;
  connectLatencyMs: { p50: number; p90: number; p99: number; max: number };
  serverRssMB: { before: number; connected: number; endOfHold: number; perNode: number[] };
  /** (RSS connected - RSS before) / connected, in KB (1024 B): just after the connect burst. */
  kbPerConn: number;
  /** (RSS at the end of the hold - RSS before) / held: once idle (garbage of the burst collected). */
  kbPerConnIdle: number;
  /** V8 heap used by the server processes (main + worker threads), when the server reports it. */
  /** V8 heap of the server processes (main + worker threads), when the server reports it (Storm's /metrics). */
  heapMB?: { usedBefore: number; usedConnected: number; usedEndOfHold?: number; committedBefore: number; committedConnected: number; committedEndOfHold?: number };
  /** V8 heap used: growth from before to all connected, / connections (includes garbage not yet collected). */
  heapKbPerConn?: number;
  /** V8 heap committed at the end of the hold: growth from before, / connections held. */
  heapCommittedKbPerConnIdle?: number;
  /** PostgreSQL and Hazelcast (Storm only): RSS before and after; not part of kbPerConn. */
  servicesRssMB?: { postgresBefore: number; postgresConnected: number; hazelcastBefore: number; hazelcastConnected: number };
  loadRssMB: number;
  /** % of one core, while connecting and while holding. */
  cpuPercent: {
    connect: { server: number; load: number; services: number; other: number };
    hold: { server: number; load: number; services: number; other: number };
  };
  /**
   * CPU ms per connection while connecting: servers, and (Storm) PostgreSQL and Hazelcast apart. Less
   * noisy than rates on a shared machine: other work slows a run but adds little to its CPU.
   */
  cpuMsPerConn?: { server: number; postgres: number; hazelcast: number };
  /** The connect phase on CLOCK_MONOTONIC (seconds), for tools/bench/cpuprofile_top.ts --window. */
  measuredMonotonicS?: { from: number; to: number };
  aborted?: string;
  error?: string;
  /** Why the target was not measured (Centrifugo without Go). */
  skipped?: string;
}

function emptyResult(t: ConnsTarget, o: Opts): ConnsResult {
  return {
    target: t, nodes: o.nodes, offered: o.connections, connected: 0, failed: 0, held: 0, closedDuringRun: 0, errors: {}, portsSkipped: 0, errorSamples: {},
    connectSeconds: 0, connectPerSec: 0, connectLatencyMs: { p50: 0, p90: 0, p99: 0, max: 0 },
    serverRssMB: { before: 0, connected: 0, endOfHold: 0, perNode: [] }, kbPerConn: 0, kbPerConnIdle: 0, loadRssMB: 0,
    cpuPercent: { connect: { server: 0, load: 0, services: 0, other: 0 }, hold: { server: 0, load: 0, services: 0, other: 0 } },
    ...(t === 'storm' ? { mode: o.mode } : {}),
  };
}

/** The backing services of a Storm cluster: a throwaway PostgreSQL and (cluster mode) a Hazelcast member. */
interface Services {
  pg: PostgresServer;
  pgPid: number;
  hz?: HazelcastMember;
  hzPid?: () => number | undefined;
  stop(): Promise<void>;
}

async function startServices(o: Opts, log: (s: string) => void): Promise<Services> {
  const pgServer = await startPostgres();
  const db = new pg.Client({ connectionString: pgServer.url });
  await db.connect();
  const dataDir = String((await db.query('SHOW data_directory')).rows[0].data_directory);
  await db.end();
  const pgPid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
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

async function startServers(t: ConnsTarget, o: Opts, tmp: string, services: Services | undefined, secret: string, log: (s: string) => void): Promise<{ servers: ServerProc[]; ports: number[] }> {
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
      const script = path.join(here, 'baselines', (t === 'socketio' ? 'socketio_server' : 'raw_ws_server') + EXT);
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
async function heapBytes(ports: number[]): Promise<{ used: number; committed: number } | undefined> {
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

function cpuWindow() {
  const m0 = machineCpu();
  const t0 = process.hrtime.bigint();
  return (serverS: number, loadS: number, servicesS: number) => {
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const m1 = machineCpu();
    const machine = ((m1.busy - m0.busy) / (m1.total - m0.total)) * os.cpus().length * 100;
    const pct = (s: number) => (s / wall) * 100;
    return {
      server: pct(serverS), load: pct(loadS), services: pct(servicesS),
      other: Math.max(0, machine - pct(serverS) - pct(loadS) - pct(servicesS)),
    };
  };
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

async function runTarget(t: ConnsTarget, o: Opts, log: (s: string) => void): Promise<ConnsResult> {
  const r = emptyResult(t, o);
  if (t === 'centrifugo') {
    const found = centrifugoBinary();
    if ('skip' in found) return { ...r, skipped: found.skip };
  }
  const tmp = makeTempDir(`storm-conns-${t}-`);
  const secret = randomBytes(32).toString('hex');
  let services: Services | undefined;
  let servers: ServerProc[] = [];
  const workers: Worker[] = [];
  const progressLine = (s: string) => process.stderr.write(`  [${t}] ${s}\n`);
  let lastSample = 0;
  try {
    if (t === 'storm') services = await startServices(o, log);
    const started = await startServers(t, o, tmp, services, secret, log);
    servers = started.servers;
    const ports = started.ports;
    const serverPids = () => servers.flatMap((s) => procTree(s.pid));
    // PostgreSQL backends come and go: a finished backend's CPU moves to the postmaster's
    // children time (cutime + cstime), so count that too or the sum would go down.
    const postgresCpu = () => {
      if (!services) return 0;
      let childTicks = 0;
      try {
        const st = fs.readFileSync(`/proc/${services.pgPid}/stat`, 'utf8');
        const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
        childTicks = Number(f[13]) + Number(f[14]);
      } catch { /* gone */ }
      return cpuSeconds(procTree(services.pgPid)) + childTicks / 100;
    };
    const hazelcastCpu = () => cpuSeconds([services?.hzPid?.()].filter((p): p is number => p !== undefined));
    const servicesCpu = () => postgresCpu() + hazelcastCpu();
    const alive = () => {
      const dead = servers.findIndex((s) => s.exited());
      if (dead >= 0) throw new Error(`server ${dead + 1} exited:\n${servers[dead]!.tail()}`);
    };

    const workerScript = path.join(here, 'conns_load_worker' + EXT);
    const inits: Promise<unknown>[] = [];
    for (let i = 0, first = 0; i < o.loadProcs; i++) {
      const count = Math.floor(o.connections / o.loadProcs) + (i < o.connections % o.loadProcs ? 1 : 0);
      if (count === 0) continue;
      const w = new Worker(workerScript, `conns${i}`);
      workers.push(w);
      const cfg: ConnsWorkerInit = {
        target: t, ports, count, firstIndex: first, localAddress: `127.0.0.${2 + i}`, rate: o.ramp / o.loadProcs,
        concurrency: o.concurrency, readyTimeoutMs: o.readyTimeout * 1000, jwtSecret: t === 'storm' || t === 'centrifugo' ? secret : undefined,
        guardPgids: servers.map((s) => s.pid),
      };
      inits.push(w.request('init', { cfg }, 120_000));
      first += count;
    }
    await Promise.all(inits);
    await sleep(o.settle * 1000);
    const rssOf = (pids: number[]) => rssBytes(pids).rss / MB;
    r.serverRssMB.before = rssOf(serverPids());
    const heapBefore = t === 'storm' ? await heapBytes(ports) : undefined;
    const hzPid0 = services?.hzPid?.();
    const pgBefore = services ? rssOf(procTree(services.pgPid)) : 0;
    const hzBefore = hzPid0 ? rssOf([hzPid0]) : 0;
    log(`  servers up: ${o.nodes} x ${t} on ports ${ports.join(', ')}, RSS ${fmt(r.serverRssMB.before, 1)} MB in all; connecting ${fmt(o.connections)} from ${workers.length} load processes` +
      (o.ramp > 0 ? ` at ${fmt(o.ramp)}/s` : ` (${o.concurrency} handshakes in flight per process)`));

    // ---- connect ----
    const loadPids = workers.map((w) => w.pid);
    let cpu = cpuWindow();
    let cpuS0 = cpuSeconds(serverPids());
    let cpuL0 = cpuSeconds(loadPids);
    let cpuV0 = servicesCpu();
    const cpuPg0 = postgresCpu();
    const cpuHz0 = hazelcastCpu();
    const tm0 = process.hrtime.bigint();
    await Promise.all(workers.map((w) => w.request('connect', {}, 10_000)));
    const deadline = Date.now() + o.connectTimeout * 1000;
    let last = 0;
    let lastAt = Date.now();
    for (;;) {
      await sleep(1000);
      alive();
      const ps = (await Promise.all(workers.map((w) => w.request('progress', {}, 30_000)))) as ConnsProgress[];
      const sum = ps.reduce((a, p) => ({ connected: a.connected + p.connected, failed: a.failed + p.failed, closed: a.closed + p.closed }), { connected: 0, failed: 0, closed: 0 });
      const now = Date.now();
      const rss = rssOf(serverPids());
      progressLine(`${fmt(sum.connected)}/${fmt(o.connections)} connected, ${fmt(((sum.connected - last) * 1000) / (now - lastAt))}/s, ` +
        `failed ${fmt(sum.failed)}, closed ${fmt(sum.closed)}, server RSS ${fmt(rss)} MB`);
      last = sum.connected;
      lastAt = now;
      lastSample = sum.connected;
      if (ps.every((p) => p.done)) break;
      if (now > deadline) { r.aborted = `connecting took longer than --connect-timeout ${o.connectTimeout} s`; break; }
    }
    const serverConnectS = cpuSeconds(serverPids()) - cpuS0;
    r.cpuPercent.connect = cpu(serverConnectS, cpuSeconds(loadPids) - cpuL0, servicesCpu() - cpuV0);
    r.measuredMonotonicS = { from: Number(tm0) / 1e9, to: Number(process.hrtime.bigint()) / 1e9 };
    const perConnMs = (s: number) => (lastSample > 0 ? (s * 1000) / lastSample : 0);
    r.cpuMsPerConn = { server: perConnMs(serverConnectS), postgres: perConnMs(postgresCpu() - cpuPg0), hazelcast: perConnMs(hazelcastCpu() - cpuHz0) };
    await sleep(o.settle * 1000);
    alive();
    let reps = (await Promise.all(workers.map((w) => w.request('report', {}, 30_000)))) as ConnsWorkerReport[];
    r.connected = reps.reduce((a, p) => a + p.connected, 0);
    r.failed = reps.reduce((a, p) => a + p.failed, 0);
    r.portsSkipped = reps.reduce((a, p) => a + p.portsSkipped, 0);
    const perNode = servers.map((s) => rssOf(procTree(s.pid)));
    r.serverRssMB.perNode = perNode;
    r.serverRssMB.connected = perNode.reduce((a, b) => a + b, 0);
    r.kbPerConn = r.connected > 0 ? ((r.serverRssMB.connected - r.serverRssMB.before) * 1024) / r.connected : 0;
    if (heapBefore !== undefined) {
      const heapAfter = await heapBytes(ports);
      if (heapAfter !== undefined) {
        r.heapMB = { usedBefore: heapBefore.used / MB, usedConnected: heapAfter.used / MB, committedBefore: heapBefore.committed / MB, committedConnected: heapAfter.committed / MB };
        r.heapKbPerConn = r.connected > 0 ? (heapAfter.used - heapBefore.used) / 1024 / r.connected : 0;
      }
    }
    if (services) {
      const hzPid1 = services.hzPid?.();
      r.servicesRssMB = {
        postgresBefore: pgBefore, postgresConnected: rssOf(procTree(services.pgPid)),
        hazelcastBefore: hzBefore, hazelcastConnected: hzPid1 ? rssOf([hzPid1]) : 0,
      };
    }
    r.connectSeconds = Math.max(...reps.map((p) => p.connectUs)) / 1e6;
    r.connectPerSec = r.connectSeconds > 0 ? r.connected / r.connectSeconds : 0;
    const hist = build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
    for (const p of reps) hist.add(decodeFromCompressedBase64(p.hist));
    const ms = (us: number) => us / 1000;
    r.connectLatencyMs = { p50: ms(hist.getValueAtPercentile(50)), p90: ms(hist.getValueAtPercentile(90)), p99: ms(hist.getValueAtPercentile(99)), max: ms(hist.maxValue) };
    log(`  ${fmt(r.connected)}/${fmt(o.connections)} connected in ${fmt(r.connectSeconds, 1)} s (${fmt(r.connectPerSec)}/s), ` +
      `p50 ${fmt(r.connectLatencyMs.p50, 1)} ms, p99 ${fmt(r.connectLatencyMs.p99, 1)} ms; failed ${fmt(r.failed)}; ` +
      `server RSS ${fmt(r.serverRssMB.before, 1)} -> ${fmt(r.serverRssMB.connected, 1)} MB = ${fmt(r.kbPerConn, 2)} KB/conn` +
      (r.heapKbPerConn !== undefined ? ` (V8 heap ${fmt(r.heapKbPerConn, 2)} KB/conn)` : ''));

    // ---- hold ----
    cpu = cpuWindow();
    cpuS0 = cpuSeconds(serverPids());
    cpuL0 = cpuSeconds(loadPids);
    cpuV0 = servicesCpu();
    const holdEnd = Date.now() + o.hold * 1000;
    while (Date.now() < holdEnd) {
      await sleep(Math.min(1000, holdEnd - Date.now()));
      alive();
      const ps = (await Promise.all(workers.map((w) => w.request('progress', {}, 30_000)))) as ConnsProgress[];
      const closed = ps.reduce((a, p) => a + p.closed, 0);
      progressLine(`holding ${fmt(r.connected - closed)} (closed ${fmt(closed)}), ${fmt(Math.max(0, holdEnd - Date.now()) / 1000)} s left`);
    }
    r.cpuPercent.hold = cpu(cpuSeconds(serverPids()) - cpuS0, cpuSeconds(loadPids) - cpuL0, servicesCpu() - cpuV0);
    alive();
    reps = (await Promise.all(workers.map((w) => w.request('report', {}, 30_000)))) as ConnsWorkerReport[];
    r.held = reps.reduce((a, p) => a + p.open, 0);
    r.closedDuringRun = reps.reduce((a, p) => a + p.closed, 0);
    r.serverRssMB.endOfHold = rssOf(serverPids());
    r.kbPerConnIdle = r.held > 0 ? ((r.serverRssMB.endOfHold - r.serverRssMB.before) * 1024) / r.held : 0;
    if (r.heapMB && heapBefore) {
      const h = await heapBytes(ports);
      if (h) {
        r.heapMB.usedEndOfHold = h.used / MB;
        r.heapMB.committedEndOfHold = h.committed / MB;
        r.heapCommittedKbPerConnIdle = r.held > 0 ? (h.committed - heapBefore.committed) / 1024 / r.held : 0;
      }
    }
    r.loadRssMB = reps.reduce((a, p) => a + p.rssBytes, 0) / MB;
    for (const p of reps) {
      for (const [k, v] of Object.entries(p.errors)) r.errors[k] = (r.errors[k] ?? 0) + v;
      for (const [k, v] of Object.entries(p.samples)) r.errorSamples[k] ??= v;
    }
    log(`  held ${fmt(r.held)} at the end of a ${o.hold} s hold (closed ${fmt(r.closedDuringRun)}); server RSS ${fmt(r.serverRssMB.endOfHold, 1)} MB = ${fmt(r.kbPerConnIdle, 2)} KB/conn` +
      (r.heapCommittedKbPerConnIdle !== undefined ? ` (V8 heap committed ${fmt(r.heapCommittedKbPerConnIdle, 2)} KB/conn)` : '') + '; ' +
      `errors ${JSON.stringify(r.errors)}`);
  } catch (e) {
    r.error = String((e as Error)?.message ?? e);
    r.connectedBeforeFailure = Math.max(r.connected, lastSample);
  } finally {
    // Servers first: the side that closes first keeps TIME_WAIT, and the load side's source ports
    // must be free for the next target.
    await Promise.all(servers.map((s) => s.stop(o.stopGrace * 1000)));
    await Promise.all(workers.map((w) => w.stop()));
    await services?.stop();
    removeTempDir(tmp);
  }
  return r;
}

function table(rs: ConnsResult[]): string {
  const head = ['target', 'held', 'failed', 'conn/s', 'p50 ms', 'p99 ms', 'RSS before MB', 'RSS conn. MB', 'KB/conn', 'KB/conn end of hold', 'heap KB/conn', 'load RSS MB',
    'CPU% srv/load/svc/other (connect)', 'CPU ms/conn srv/pg/hz', 'CPU% srv/other (hold)', 'errors'];
  const rows = rs.filter((r) => !r.skipped).map((r) => [
    r.target + (r.mode && r.mode !== 'cluster' ? ` (${r.mode})` : ''), fmt(r.held), fmt(r.failed), fmt(r.connectPerSec), fmt(r.connectLatencyMs.p50, 1),
    fmt(r.connectLatencyMs.p99, 1), fmt(r.serverRssMB.before, 1), fmt(r.serverRssMB.connected, 1), fmt(r.kbPerConn, 2), fmt(r.kbPerConnIdle, 2),
    r.heapKbPerConn !== undefined ? fmt(r.heapKbPerConn, 2) : 'n/a', fmt(r.loadRssMB, 1),
    `${fmt(r.cpuPercent.connect.server)}/${fmt(r.cpuPercent.connect.load)}/${fmt(r.cpuPercent.connect.services)}/${fmt(r.cpuPercent.connect.other)}`,
    r.cpuMsPerConn ? `${fmt(r.cpuMsPerConn.server, 2)}/${fmt(r.cpuMsPerConn.postgres, 2)}/${fmt(r.cpuMsPerConn.hazelcast, 2)}` : 'n/a',
    `${fmt(r.cpuPercent.hold.server)}/${fmt(r.cpuPercent.hold.other)}`,
    r.error ? `FAILED: ${r.error.split('\n')[0]}` : Object.entries(r.errors).map(([k, v]) => `${k}=${v}`).join(' ') || '0',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const skipped = rs.filter((r) => r.skipped).map((r) => `${r.target} skipped: ${r.skipped}`);
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line), ...skipped].join('\n');
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const log = (s: string) => process.stdout.write(s + '\n');
  const cmd = `node ${path.relative(process.cwd(), fileURLToPath(import.meta.url))} ${process.argv.slice(2).join(' ')}`.trim();
  if (o.targets.includes('storm') && !fs.existsSync(o.stormBin)) throw new Error(`${o.stormBin} not found: run npm run build first`);
  log(`connections benchmark: ${fmt(o.connections)} idle WebSocket connections over ${o.nodes} server processes, from ${o.loadProcs} load processes ` +
    `(127.0.0.2..${o.loadProcs + 1}), ramp ${o.ramp > 0 ? `${fmt(o.ramp)}/s` : 'max'}, hold ${o.hold} s; storm: ${o.mode}, ${o.stormWorkers} actor worker(s) per node, lease ${o.leaseMs} ms` +
    (o.serverNodeArgs.length ? `; server node args: ${o.serverNodeArgs.join(' ')}` : ''));
  log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}; ` +
    'servers, load generator (and PostgreSQL, Hazelcast) share these cores');
  const results: ConnsResult[] = [];
  for (const t of o.targets) {
    log(`[${t}]`);
    const r = await runTarget(t, o, log);
    if (r.skipped) log(`  skipped: ${r.skipped}`);
    if (r.aborted) log(`  ABORTED: ${r.aborted}`);
    if (r.error) log(`  FAILED (${fmt(r.connectedBeforeFailure ?? 0)} connected before): ${r.error}`);
    results.push(r);
    await sleep(1000); // let the previous target's sockets close (TIME_WAIT is on the client side: other ports)
  }
  log('');
  log(table(results));
  log('(KB/conn = server RSS growth from before the first connection to all connected and settled (--settle s), / connections;');
  log(' KB/conn end of hold = the same growth at the end of the --hold s idle period, / connections still held;');
  log(' CPU% = % of one core: srv = server processes, load = load processes, svc = PostgreSQL + Hazelcast, other = everything else incl. this driver;\n CPU ms/conn = CPU time while connecting / connections: servers, PostgreSQL, Hazelcast)');
  const storm = results.find((r) => r.target === 'storm' && !r.error);
  const ratios: Record<string, number> = {};
  for (const b of results) {
    if (!storm || b === storm || b.error || b.skipped || b.kbPerConn <= 0) continue;
    ratios[`storm/${b.target} KB per conn`] = storm.kbPerConn / b.kbPerConn;
    if (b.kbPerConnIdle > 0) ratios[`storm/${b.target} KB per conn, end of hold`] = storm.kbPerConnIdle / b.kbPerConnIdle;
  }
  for (const [k, v] of Object.entries(ratios)) log(`${k}: ${fmt(v, 2)}`);
  if (o.json) {
    const out = {
      command: cmd, date: new Date().toISOString(), node: process.version,
      machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, memGiB: os.totalmem() / 2 ** 30 },
      caveat: 'servers, load generator, PostgreSQL and Hazelcast share the same 2 cores',
      params: o, results, ratios,
    };
    fs.writeFileSync(o.json, JSON.stringify(out, null, 2) + '\n');
    log(`wrote ${o.json}`);
  }
  process.exitCode = results.some((r) => !r.skipped && (r.error || r.aborted || r.held < o.connections)) ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
