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
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startPostgres, type PostgresServer } from '../../tests/harness/postgres.ts';
import { parseDurableArgs } from './durable_options.ts';
import { report, type RawResult, type StormResult } from './durable_report.ts';
import { runRaw, runStorm } from './durable_runs.ts';
import { procTree } from './fanout_procs.ts';
import { postmaster, settings, warmWal } from './postgres_probes.ts';

async function main(): Promise<void> {
  const o = parseDurableArgs(process.argv.slice(2));
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
