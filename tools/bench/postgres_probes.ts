// What the benches read from the PostgreSQL they start: its postmaster, its settings, its
// transaction and WAL counters; and the WAL warm-up that makes a fresh cluster run like an old one.
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';

/** The postmaster's pid (its backends are its children), from `postmaster.pid` in the data directory. */
export async function postmaster(db: pg.Client): Promise<{ pid: number; dataDir: string }> {
  const dataDir = String((await db.query('SHOW data_directory')).rows[0].data_directory);
  const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return { pid, dataDir };
}

export async function settings(db: pg.Client, extra: readonly string[]): Promise<Record<string, string>> {
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
export async function warmWal(db: pg.Client, mb: number): Promise<number> {
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
export async function pgCounters(db: pg.Client): Promise<{ xid: number; wal: number }> {
  const { rows } = await db.query("SELECT pg_current_xact_id()::text::bigint AS xid, pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint AS wal");
  return { xid: Number(rows[0].xid), wal: Number(rows[0].wal) };
}
