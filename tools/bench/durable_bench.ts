// Durable-publish benchmark, scenario (c): publishes/s acknowledged after commit to PostgreSQL,
// with ack latency, against a raw `pg` baseline measured in the same run on the same machine.
//
//   npm run bench:durable -- [--channels 100] [--conns 100] [--window 16] [--batch 16]
//        [--rate N|max] [--size 100] [--duration 15] [--warmup 3] [--load-procs 2]
//        [--workers N] [--pg-pool N] [--raw-duration 8] [--raw-conns 8] [--raw-rows N]
//        [--pg-wal-warm 1024] [--pg-settings name=value,..] [--deadline 90] [--json out.json] [--storm-bin dist/bin/storm.js] [--server-node-args "--cpu-prof ..."]
//
// 1. Starts a throwaway PostgreSQL 15 (tests/harness/postgres.ts: fsync=on, synchronous_commit=on,
//    every other setting at its default but min_wal_size/max_wal_size; the settings are printed),
//    and brings its WAL to a running server's steady state: --pg-wal-warm MB of WAL written and
//    checkpointed, so the runs reuse recycled segments instead of zero-filling new ones inside
//    commits (`warmWal`; --pg-wal-warm 0 measures a fresh cluster).
// 2. Starts `storm serve --postgres URL --port 0 --workers N` as a child process (own process
//    group), creates --channels public channels with every publisher as a member.
// 3. --load-procs load processes (127.0.0.2, .3, ...) open --conns WebSocket publishers; each
//    publishes to its channels round-robin, `pub` frames batched in arrays of --batch, with at
//    most --window publishes awaiting an ack. After --warmup s, --duration s are measured: acked
//    publishes/s, ack latency p50/p99/p999, CPU of the server, of PostgreSQL, of the load.
// 4. Checks the journal: every acknowledged publish is in PostgreSQL, each channel gapless.
// 5. Stops Storm; baseline: raw multi-row INSERTs of the same rows (same table, same row size,
//    the rows-per-transaction Storm achieved) via `pg`, --raw-conns connections.
// Everything runs on 127.0.0.1; every child is killed on exit; the run aborts after --deadline s.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { flags } from './args.ts';
import { build, decodeFromCompressedBase64 } from 'hdr-histogram-js';
import pg from 'pg';
import { defaultWorkerCount } from '../../server/config.ts';
import { cpuUsPer } from './fanout_report.ts';
import { startPostgres, type PostgresServer } from '../../tests/harness/postgres.ts';
import type { LoadReport, PubConnSpec, PubInit, RawPgInit, StopReport } from './durable_common.ts';
import {
  cpuSeconds, machineCpu, makeTempDir, procTree, removeTempDir, rssBytes, startServer, threadCpuSeconds, waitHttp, Worker, type ServerProc,
} from './fanout_procs.ts';

const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, EXT === '.ts' ? '../..' : '../../..');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function parseArgs(argv: string[]) {
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
    stormBin: path.resolve(get('storm-bin', path.join(repoRoot, 'dist/bin/storm.js'))),
    /** Extra node flags for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it. */
    serverNodeArgs: get('server-node-args', '').split(' ').filter(Boolean),
  };
  done('durable publish benchmark (scenario c): node dist-tools/tools/bench/durable_bench.js [flags]; bench/durable_bench.ts explains them');
  return o;
}
type Opts = ReturnType<typeof parseArgs>;

interface Latency { p50: number; p99: number; p999: number; max: number; mean: number }
interface Cpu { server: number; serverMainThread: number; postgres: number; load: number; machine: number }

interface StormResult {
  sentPerSec: number;
  ackedPerSec: number;
  latencyMs: Latency;
  cpuPercent: Cpu;
  transactionsPerSec: number;
  rowsPerTransaction: number;
  walBytesPerRow: number;
  serverRssMB: number;
  errors: number;
  firstError: string;
  durability: { channels: number; journalRows: number; acked: number; missing: number; gappy: number; dupAcks: number; unacked: number };
}

interface RawResult {
  conns: number;
  rowsPerTransaction: number;
  rowsPerSec: number;
  transactionsPerSec: number;
  txnLatencyMs: Latency;
  cpuPercent: Cpu;
  walBytesPerRow: number;
  errors: number;
  firstError: string;
}

const newHist = () => build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });

function latencyOf(reports: LoadReport[]): Latency {
  const h = newHist();
  for (const r of reports) h.add(decodeFromCompressedBase64(r.hist));
  const ms = (us: number) => us / 1000;
  return {
    p50: ms(h.getValueAtPercentile(50)), p99: ms(h.getValueAtPercentile(99)), p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue), mean: ms(h.mean),
  };
}

/** CPU use between two samples, as % of one core, per process group and for the whole machine. */
class CpuMeter {
  #t0 = process.hrtime.bigint();
  #m0 = machineCpu();
  #s0: Record<string, number> = {};
  #main0: number;
  constructor(private readonly groups: Record<'server' | 'postgres' | 'load', () => number[]>, private readonly serverPid?: number) {
    for (const [k, pids] of Object.entries(groups)) this.#s0[k] = cpuSeconds(pids());
    this.#main0 = this.#mainThread();
  }

  read(): Cpu {
    const wall = Number(process.hrtime.bigint() - this.#t0) / 1e9;
    const m1 = machineCpu();
    const pct = (k: 'server' | 'postgres' | 'load') => ((cpuSeconds(this.groups[k]()) - this.#s0[k]!) / wall) * 100;
    return {
      server: pct('server'), serverMainThread: ((this.#mainThread() - this.#main0) / wall) * 100,
      postgres: pct('postgres'), load: pct('load'),
      machine: ((m1.busy - this.#m0.busy) / (m1.total - this.#m0.total)) * os.cpus().length * 100,
    };
  }

  /** CPU seconds of the server's main thread (the edge); its other threads are actor workers and V8's. */
  #mainThread(): number {
    return this.serverPid === undefined ? 0 : (threadCpuSeconds(this.serverPid).get(this.serverPid) ?? 0);
  }
}

/** Every publisher connection's channels: channel c goes to connection c mod conns. */
function connSpecs(o: Opts): PubConnSpec[] {
  const specs: PubConnSpec[] = Array.from({ length: o.conns }, (_, i) => ({ user: `dpub-${i}`, channels: [] }));
  for (let c = 0; c < Math.max(o.channels, o.conns); c++) specs[c % o.conns]!.channels.push(`d${c % o.channels}`);
  return specs;
}

async function post(port: number, route: string, body: unknown, token?: string): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`http://127.0.0.1:${port}${route}`, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(15_000) });
  return { status: res.status, json: await res.json().catch(() => undefined) };
}

/** Waits for the `listening` line `storm serve` prints, and returns its port. */
async function listeningPort(logFile: string, server: ServerProc): Promise<number> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (server.exited()) throw new Error(`storm exited during start-up:\n${server.tail()}`);
    const line = fs.readFileSync(logFile, 'utf8').split('\n').find((l) => l.includes('"listening"'));
    if (line) return (JSON.parse(line) as { port: number }).port;
    await sleep(50);
  }
  throw new Error(`storm did not print its port within 20 s:\n${server.tail()}`);
}

/** The postmaster's pid (its backends are its children), from `postmaster.pid` in the data directory. */
async function postmaster(db: pg.Client): Promise<{ pid: number; dataDir: string }> {
  const dataDir = String((await db.query('SHOW data_directory')).rows[0].data_directory);
  const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return { pid, dataDir };
}

async function settings(db: pg.Client, extra: readonly string[]): Promise<Record<string, string>> {
  const names = [...extra.map((s) => s.split('=')[0]!), 'server_version', 'fsync', 'synchronous_commit', 'wal_sync_method', 'full_page_writes', 'shared_buffers', 'min_wal_size', 'max_wal_size', 'checkpoint_timeout', 'commit_delay'];
  const { rows } = await db.query('SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)', [names]);
  return Object.fromEntries(rows.map((r) => [r.name, r.unit ? `${r.setting} ${r.unit}` : r.setting]));
}

/**
 * Brings a fresh cluster's WAL to the steady state of a server that has run for a while. A fresh
 * cluster has no WAL segment to reuse: the backend that fills one creates the next, writing 16 MB
 * of zeros while it holds the WAL write lock, so every commit waits for it (at 50,000 rows/s,
 * twice a second: 12 % of the backends' CPU in a profile, and the worst statements of the run). A
 * server that has run recycles the segments that each checkpoint frees. This writes `mb` of WAL
 * into a scratch table, drops it and checkpoints twice: the segments become recycled ones, kept
 * because `min_wal_size` (set at start) covers them. Returns the milliseconds it took.
 */
async function warmWal(db: pg.Client, mb: number): Promise<number> {
  const t0 = Date.now();
  await db.query('CREATE TABLE wal_warm (x text)');
  // ~1 KB of WAL per row, 100,000 rows per statement.
  for (let written = 0; written < mb; written += 100) {
    await db.query("INSERT INTO wal_warm SELECT repeat('w', 900) FROM generate_series(1, 100000)");
  }
  await db.query('DROP TABLE wal_warm');
  await db.query('CHECKPOINT');
  await db.query('CHECKPOINT');
  return Date.now() - t0;
}

/** Write transactions and WAL bytes so far (each call takes one transaction id itself). */
async function pgCounters(db: pg.Client): Promise<{ xid: number; wal: number }> {
  const { rows } = await db.query("SELECT pg_current_xact_id()::text::bigint AS xid, pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint AS wal");
  return { xid: Number(rows[0].xid), wal: Number(rows[0].wal) };
}

async function runStorm(o: Opts, url: string, db: pg.Client, pgPids: () => number[], log: (s: string) => void): Promise<StormResult> {
  const tmp = makeTempDir('storm-durable-');
  const logFile = path.join(tmp, 'server.log');
  const args = [...o.serverNodeArgs, o.stormBin, 'serve', '--postgres', url, '--port', '0', '--data-dir', path.join(tmp, 'data'),
    '--workers', String(o.workers), '--pg-pool', String(o.pgPool)];
  // Throughput, not abuse: the rate limits' own cost is measured by rate_limit_bench.
  const server = startServer(process.execPath, args, { ...process.env, STORM_RATE_LIMITS: 'off' }, logFile);
  const workers: Worker[] = [];
  try {
    const port = await listeningPort(logFile, server);
    await waitHttp(port, 10_000, server);
    const specs = connSpecs(o);
    const owner = (await post(port, '/auth/dev-token', { user: 'dpub-owner' })).json.token as string;
    const members = specs.map((s) => s.user);
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < o.channels) {
        const name = `d${next++}`;
        const chMembers = members.filter((_, i) => specs[i]!.channels.includes(name));
        const r = await post(port, '/channels', { name, visibility: 'public', members: chMembers }, owner);
        if (r.status !== 201) throw new Error(`Cannot create channel ${name}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
      }
    }));
    const t0 = Date.now();
    const script = path.join(here, 'durable_load_worker' + EXT);
    const runId = `r${Date.now().toString(36)}`;
    await Promise.all(Array.from({ length: o.loadProcs }, async (_, p) => {
      const mine = specs.filter((_, i) => i % o.loadProcs === p);
      if (mine.length === 0) return;
      const w = new Worker(script, `pub${p}`);
      workers.push(w);
      const cfg: PubInit = {
        role: 'pub', host: '127.0.0.1', port, localAddress: `127.0.0.${2 + p}`, conns: mine, window: o.window,
        batch: o.batch, size: o.size, rate: o.rate / o.loadProcs, runId: `${runId}p${p}`, guardPgid: server.pid,
      };
      await w.request('init', { cfg }, 30_000);
    }));
    log(`  ${o.channels} channels created, ${o.conns} publishers connected in ${Date.now() - t0} ms`);

    await Promise.all(workers.map((w) => w.request('start', {}, 10_000)));
    await sleep(o.warmup * 1000);
    const loadPids = workers.map((w) => w.pid);
    const meter = new CpuMeter({ server: () => procTree(server.pid), postgres: pgPids, load: () => loadPids }, server.pid);
    const pg0 = await pgCounters(db);
    await Promise.all(workers.map((w) => w.request('measure', {}, 10_000)));
    const end = Date.now() + o.duration * 1000;
    let rss = 0;
    while (Date.now() < end) {
      await sleep(Math.min(500, Math.max(0, end - Date.now())));
      if (server.exited()) throw new Error(`storm exited during the run:\n${server.tail()}`);
      rss = Math.max(rss, rssBytes(procTree(server.pid)).rss);
    }
    const reports = (await Promise.all(workers.map((w) => w.request('stop-measure', {}, 30_000)))) as LoadReport[];
    const cpu = meter.read();
    const pg1 = await pgCounters(db);
    const stops = (await Promise.all(workers.map((w) => w.request('stop', {}, 15_000)))) as StopReport[];

    const elapsed = reports[0]!.elapsedUs / 1e6;
    const acked = reports.reduce((a, r) => a + r.acked, 0);
    const txns = pg1.xid - pg0.xid - 1;
    const durability = await checkJournal(db, stops, reports);
    return {
      sentPerSec: reports.reduce((a, r) => a + r.sent, 0) / elapsed,
      ackedPerSec: acked / elapsed,
      latencyMs: latencyOf(reports),
      cpuPercent: cpu,
      transactionsPerSec: txns / elapsed,
      rowsPerTransaction: txns > 0 ? acked / txns : 0,
      walBytesPerRow: acked > 0 ? (pg1.wal - pg0.wal) / acked : 0,
      serverRssMB: rss / 2 ** 20,
      errors: reports.reduce((a, r) => a + r.errors, 0),
      firstError: reports.find((r) => r.firstError)?.firstError ?? '',
      durability,
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await server.stop();
    removeTempDir(tmp);
  }
}

/** G1 + G2 from outside: every acked publish is in the journal, and each channel has no gap. */
async function checkJournal(db: pg.Client, stops: StopReport[], reports: LoadReport[]): Promise<StormResult['durability']> {
  const { rows } = await db.query(
    "SELECT substr(actor_id, 9) AS ch, count(*)::bigint AS n, min(seq) AS lo, max(seq) AS hi FROM journal WHERE actor_id LIKE 'channel:%' GROUP BY actor_id",
  );
  const journal = new Map(rows.map((r) => [String(r.ch), { n: Number(r.n), lo: Number(r.lo), hi: Number(r.hi) }]));
  const d = { channels: journal.size, journalRows: 0, acked: 0, missing: 0, gappy: 0, dupAcks: 0, unacked: 0 };
  for (const j of journal.values()) {
    d.journalRows += j.n;
    if (j.lo !== 1 || j.hi !== j.n) d.gappy++;
  }
  for (const s of stops) {
    d.unacked += s.outstanding;
    for (const [ch, [count, maxSeq]] of Object.entries(s.acked)) {
      d.acked += count;
      const j = journal.get(ch);
      if (!j) d.missing += count;
      else if (maxSeq > j.hi) d.missing += maxSeq - j.hi;
    }
  }
  d.dupAcks = reports.reduce((a, r) => a + r.dups, 0);
  // Acks are per distinct client id: more acks than rows means an ack without its row.
  d.missing += Math.max(0, d.acked - d.journalRows);
  return d;
}

async function runRaw(o: Opts, url: string, rows: number, db: pg.Client, pgPids: () => number[]): Promise<RawResult> {
  const script = path.join(here, 'durable_load_worker' + EXT);
  const procs = Math.min(o.loadProcs, o.rawConns);
  const workers: Worker[] = [];
  try {
    await Promise.all(Array.from({ length: procs }, async (_, p) => {
      const w = new Worker(script, `raw${p}`);
      workers.push(w);
      const conns = Math.floor(o.rawConns / procs) + (p < o.rawConns % procs ? 1 : 0);
      const cfg: RawPgInit = { role: 'rawpg', url, conns, rows, actors: Math.max(1, Math.ceil(o.channels / o.rawConns)), size: o.size, prefix: `raw:${p}` };
      await w.request('init', { cfg }, 30_000);
    }));
    await Promise.all(workers.map((w) => w.request('start', {}, 10_000)));
    await sleep(Math.min(2, o.warmup) * 1000);
    const loadPids = workers.map((w) => w.pid);
    const meter = new CpuMeter({ server: () => [], postgres: pgPids, load: () => loadPids });
    const pg0 = await pgCounters(db);
    await Promise.all(workers.map((w) => w.request('measure', {}, 10_000)));
    await sleep(o.rawDuration * 1000);
    const reports = (await Promise.all(workers.map((w) => w.request('stop-measure', {}, 30_000)))) as LoadReport[];
    const cpu = meter.read();
    const pg1 = await pgCounters(db);
    await Promise.all(workers.map((w) => w.request('stop', {}, 15_000)));
    const elapsed = reports[0]!.elapsedUs / 1e6;
    return {
      conns: o.rawConns, rowsPerTransaction: rows,
      rowsPerSec: reports.reduce((a, r) => a + r.acked, 0) / elapsed,
      transactionsPerSec: reports.reduce((a, r) => a + r.txns, 0) / elapsed,
      txnLatencyMs: latencyOf(reports), cpuPercent: cpu,
      walBytesPerRow: (pg1.wal - pg0.wal) / Math.max(1, reports.reduce((a, r) => a + r.acked, 0)),
      errors: reports.reduce((a, r) => a + r.errors, 0),
      firstError: reports.find((r) => r.firstError)?.firstError ?? '',
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

const other = (c: Cpu) => Math.max(0, c.machine - c.server - c.postgres - c.load);
const n0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const n1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
const n2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');

function report(o: Opts, s: StormResult | undefined, r: RawResult | undefined, log: (s: string) => void): void {
  log('');
  log('| run | rows/txn | acked/s | txn/s | p50 ms | p99 ms | p999 ms | max ms | server CPU% | PG CPU% | load CPU% | other CPU% |');
  log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  if (s) {
    const c = s.cpuPercent;
    log(`| storm (${o.conns} conns × window ${o.window}, ${o.rate ? `${n0(o.rate)}/s offered` : 'closed loop'}) | ${n1(s.rowsPerTransaction)} | ` +
      `**${n0(s.ackedPerSec)}** | ${n0(s.transactionsPerSec)} | ${n1(s.latencyMs.p50)} | **${n1(s.latencyMs.p99)}** | ${n1(s.latencyMs.p999)} | ` +
      `${n1(s.latencyMs.max)} | ${n0(c.server)} | ${n0(c.postgres)} | ${n0(c.load)} | ${n0(other(c))} |`);
  }
  if (r) {
    const c = r.cpuPercent;
    log(`| raw pg (${r.conns} conns, multi-row INSERT) | ${r.rowsPerTransaction} | **${n0(r.rowsPerSec)}** | ${n0(r.transactionsPerSec)} | ` +
      `${n1(r.txnLatencyMs.p50)} | ${n1(r.txnLatencyMs.p99)} | ${n1(r.txnLatencyMs.p999)} | ${n1(r.txnLatencyMs.max)} | - | ${n0(c.postgres)} | ${n0(c.load)} | ${n0(other(c))} |`);
  }
  log('(latency: storm = publish sent → ack received, per publish; raw pg = one INSERT transaction; CPU% = % of one core;');
  log(' other = every other process on the machine, this driver included: when it is high, the figures are not the machine\'s)');
  if (s) {
    const d = s.durability;
    log(`storm: server CPU ${n0(s.cpuPercent.server)}% = main thread (edge) ${n0(s.cpuPercent.serverMainThread)}% + actor workers and V8 threads ${n0(s.cpuPercent.server - s.cpuPercent.serverMainThread)}%; ` +
      `CPU per acked publish: server ${n1(cpuUsPer(s.cpuPercent.server, s.ackedPerSec))} µs, PostgreSQL ${n1(cpuUsPer(s.cpuPercent.postgres, s.ackedPerSec))} µs, load ${n1(cpuUsPer(s.cpuPercent.load, s.ackedPerSec))} µs`);
    log(`storm: sent ${n0(s.sentPerSec)}/s, WAL ${n0(s.walBytesPerRow)} B/row, server RSS peak ${n0(s.serverRssMB)} MB, errors ${s.errors}` +
      (s.firstError ? ` (first: ${s.firstError})` : ''));
    log(`journal check: ${d.channels} channels, ${n0(d.journalRows)} rows, ${n0(d.acked)} acks; acked but missing ${d.missing}, ` +
      `channels with a gap ${d.gappy}, dup acks ${d.dupAcks}, unacked at stop ${d.unacked}`);
  }
  if (r) log(`raw pg: PostgreSQL CPU per row ${n1(cpuUsPer(r.cpuPercent.postgres, r.rowsPerSec))} µs, WAL ${n0(r.walBytesPerRow)} B/row`);
  if (s && r) log(`ratio storm / raw pg (rows/s): ${n2(s.ackedPerSec / r.rowsPerSec)}`);
  if (r?.errors) log(`raw pg errors: ${r.errors} (first: ${r.firstError})`);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const log = (s: string) => process.stdout.write(s + '\n');
  const watchdog = setTimeout(() => {
    log(`ABORTED: the run exceeded --deadline ${o.deadline} s`);
    process.exit(3);
  }, o.deadline * 1000);
  watchdog.unref();
  const cmd = `node ${path.relative(process.cwd(), fileURLToPath(import.meta.url))} ${process.argv.slice(2).join(' ')}`.trim();
  if (!fs.existsSync(o.stormBin)) throw new Error(`${o.stormBin} not found: run npm run build first`);
  log(`durable publish benchmark: ${o.channels} channels, ${o.conns} publisher connections over ${o.loadProcs} load procs, ` +
    `window ${o.window}, ${o.batch} pub frames/message, body ${o.size} B, ${o.rate ? `${o.rate}/s offered` : 'closed loop'}, ` +
    `storm --workers ${o.workers} --pg-pool ${o.pgPool}, warm-up ${o.warmup} s, measure ${o.duration} s`);
  log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}; ` +
    'server, load generator and PostgreSQL share these cores');

  let server: PostgresServer | undefined;
  let db: pg.Client | undefined;
  let pm: { pid: number; dataDir: string } | undefined;
  // A driver that dies must not leave PostgreSQL behind (the harness cleans up only on stop()).
  const killPg = () => {
    if (!pm) return;
    try { process.kill(pm.pid, 'SIGQUIT'); } catch { /* gone */ }
    try { fs.rmSync(path.dirname(pm.dataDir), { recursive: true, force: true }); } catch { /* best effort */ }
  };
  process.on('exit', killPg);
  let s: StormResult | undefined;
  let r: RawResult | undefined;
  try {
    server = await startPostgres({ settings: [...(o.walWarm > 0 ? ['min_wal_size=4GB', 'max_wal_size=8GB'] : []), ...o.pgSettings] });
    db = new pg.Client({ connectionString: server.url });
    await db.connect();
    pm = await postmaster(db);
    const pgSettings = await settings(db, o.pgSettings);
    log(`postgresql: ${Object.entries(pgSettings).map(([k, v]) => `${k}=${v}`).join(', ')}`);
    const pgPids = () => procTree(pm!.pid);
    if (o.walWarm > 0) log(`wal warm-up: ${o.walWarm} MB written, checkpointed and recycled in ${await warmWal(db, o.walWarm)} ms`);

    log('[storm]');
    s = await runStorm(o, server.url, db, pgPids, log);
    const rows = o.rawRows || Math.max(1, Math.round(s.rowsPerTransaction));
    log(`[raw pg] ${o.rawConns} connections × INSERT of ${rows} rows`);
    r = await runRaw(o, server.url, rows, db, pgPids);
    report(o, s, r, log);
    if (o.json) {
      const out = {
        command: cmd, date: new Date().toISOString(), node: process.version,
        machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, memGiB: os.totalmem() / 2 ** 30 },
        caveat: '2 cores shared by server, load generator and PostgreSQL',
        postgres: pgSettings, params: o, storm: s, rawPg: r, ratio: s.ackedPerSec / r.rowsPerSec,
      };
      fs.writeFileSync(o.json, JSON.stringify(out, null, 2) + '\n');
      log(`wrote ${o.json}`);
    }
    const d = s.durability;
    process.exitCode = d.missing > 0 || d.gappy > 0 || d.dupAcks > 0 ? 1 : 0;
  } finally {
    await db?.end().catch(() => {});
    await server?.stop().catch(() => {});
    pm = undefined;
    clearTimeout(watchdog);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
