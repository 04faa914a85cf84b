// The two runs of the durable-publish benchmark on one PostgreSQL: Storm under publishers, then
// raw multi-row INSERTs of the same rows through `pg`; and the check of Storm's journal after.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import type { LoadReport, PubConnSpec, PubInit, RawPgInit, StopReport } from './durable_common.ts';
import type { DurableOptions } from './durable_options.ts';
import { latencyOf, type Cpu, type RawResult, type StormResult } from './durable_report.ts';
import {
  BENCH_DIR, cpuSeconds, EXT, machineCpu, makeTempDir, procTree, removeTempDir, rssBytes, shareOf, startServer, threadCpuSeconds, waitHttp, Worker, type ServerProc,
} from './fanout_procs.ts';
import { pgCounters } from './postgres_probes.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

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
function connSpecs(o: DurableOptions): PubConnSpec[] {
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

export async function runStorm(o: DurableOptions, url: string, db: pg.Client, pgPids: () => number[], log: (s: string) => void): Promise<StormResult> {
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
    const script = path.join(BENCH_DIR, 'durable_load_worker' + EXT);
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

export async function runRaw(o: DurableOptions, url: string, rows: number, db: pg.Client, pgPids: () => number[]): Promise<RawResult> {
  const script = path.join(BENCH_DIR, 'durable_load_worker' + EXT);
  const procs = Math.min(o.loadProcs, o.rawConns);
  const workers: Worker[] = [];
  try {
    await Promise.all(Array.from({ length: procs }, async (_, p) => {
      const w = new Worker(script, `raw${p}`);
      workers.push(w);
      const conns = shareOf(o.rawConns, procs, p);
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
