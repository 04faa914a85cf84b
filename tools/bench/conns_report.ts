// The connections benchmark's result per target, and the table that compares them.
import type { ConnsTarget } from './conns_common.ts';
import type { ConnsOptions } from './conns_options.ts';

export interface ConnsResult {
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

export function emptyResult(t: ConnsTarget, o: ConnsOptions): ConnsResult {
  return {
    target: t, nodes: o.nodes, offered: o.connections, connected: 0, failed: 0, held: 0, closedDuringRun: 0, errors: {}, portsSkipped: 0, errorSamples: {},
    connectSeconds: 0, connectPerSec: 0, connectLatencyMs: { p50: 0, p90: 0, p99: 0, max: 0 },
    serverRssMB: { before: 0, connected: 0, endOfHold: 0, perNode: [] }, kbPerConn: 0, kbPerConnIdle: 0, loadRssMB: 0,
    cpuPercent: { connect: { server: 0, load: 0, services: 0, other: 0 }, hold: { server: 0, load: 0, services: 0, other: 0 } },
    ...(t === 'storm' ? { mode: o.mode } : {}),
  };
}

export const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

export function connsTable(rs: ConnsResult[]): string {
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
