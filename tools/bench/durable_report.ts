// The durable-publish benchmark's results (Storm, and the raw `pg` baseline) and their report.
import { build, decodeFromCompressedBase64 } from 'hdr-histogram-js';
import type { LoadReport } from './durable_common.ts';
import type { DurableOptions } from './durable_options.ts';
import { cpuUsPer } from './fanout_report.ts';

export interface Latency { p50: number; p99: number; p999: number; max: number; mean: number }
export interface Cpu { server: number; serverMainThread: number; postgres: number; load: number; machine: number }

export interface StormResult {
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

export interface RawResult {
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

export function latencyOf(reports: LoadReport[]): Latency {
  const h = newHist();
  for (const r of reports) h.add(decodeFromCompressedBase64(r.hist));
  const ms = (us: number) => us / 1000;
  return {
    p50: ms(h.getValueAtPercentile(50)), p99: ms(h.getValueAtPercentile(99)), p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue), mean: ms(h.mean),
  };
}

const other = (c: Cpu) => Math.max(0, c.machine - c.server - c.postgres - c.load);
const n0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const n1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
const n2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');

export function report(o: DurableOptions, s: StormResult | undefined, r: RawResult | undefined, log: (s: string) => void): void {
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
