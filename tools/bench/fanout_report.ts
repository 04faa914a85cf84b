// Result shape, table and ratios for the fan-out benchmark.
import type { ThreadsPercent } from './fanout_procs.ts';
import type { TargetName } from './fanout_common.ts';
import { CENTRIFUGO_DURABILITY } from './baselines/centrifugo.ts';

export interface Latency { count: number; p50: number; p99: number; p999: number; max: number; mean: number }

export interface TargetResult {
  target: TargetName;
  error?: string;
  skipped?: string;
  aborted?: string;
  subscribers: number;
  channels: number;
  /** Channels per subscriber connection. */
  perConn: number;
  /** Server processes (Storm cluster nodes). */
  nodes: number;
  connected: number;
  /** Time to open and subscribe all subscriber connections. */
  connectMs: number;
  connectPerSec: number;
  offeredRate: number | 'max';
  pubSentPerSec: number;
  pubAckedPerSec: number;
  deliveredPerSec: number;
  /** pubAckedPerSec × connected: what full delivery would be. */
  expectedDeliveredPerSec: number;
  /** Publish-to-deliver latency in ms. */
  latencyMs: Latency;
  /** perConnKB = (RSS after connecting - idle RSS) / connected: approximate, GC moves it. */
  serverRssMB: { idle: number; connected: number; peakDuringRun: number; end: number; perConnKB: number };
  /**
   * % of one core during the measured window; infra = PostgreSQL + Hazelcast of a Storm cluster;
   * machine = all processes, other = machine - server - infra - load.
   */
  cpuPercent: { server: number; infra: number; load: number; machine: number; other: number };
  /**
   * The same window in detail: each server process's threads (its main thread, then the others),
   * each load process (subscribers, publishers), and CPU µs per delivery (the whole machine's, the
   * server's, the load's): on 2 shared cores, a target that costs more per delivery delivers less.
   */
  cpuDetail?: {
    serverThreads: ThreadsPercent[];
    subscriberProcs: number[];
    publisherProcs: number[];
    usPerDelivery: { machine: number; server: number; load: number };
  };
  /**
   * The measured window on CLOCK_MONOTONIC, in seconds: the clock of V8's CPU profiles, so a
   * server run with --cpu-prof can be read for this window alone (bench/cpuprofile_top.ts).
   */
  measuredMonotonicS?: { from: number; to: number };
  /** What the subscribers received while measuring: bytes per delivery, deliveries per WebSocket message. */
  wire?: { bytesPerDelivery: number; deliveriesPerMessage: number };
  violations: {
    gaps: number; missing: number; reorders: number; badFrames: number; errors: number;
    closed: number; undelivered: number; lagging: number; pubErrors: number; windowStalls: number;
  };
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');
/** A rounded count with thousands separators, '-' when not a number. */
export const k = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');

/** CPU µs per event, from a CPU share (% of one core: 100 % = 10⁶ µs per s) and events per second. */
export const cpuUsPer = (percent: number, perSec: number): number => (percent * 1e4) / perSec;

export function violationCount(r: TargetResult): number {
  const v = r.violations;
  return v.gaps + v.reorders + v.badFrames + v.closed + v.undelivered;
}

/**
 * A fixed-rate run whose deliveries over the measured window fall 5 % short of the offered rate ×
 * subscribers (the target did not keep up), or exceed it by 2 % (it entered the window behind
 * and spent it draining that backlog: Socket.IO in the many-rooms scenario once showed 103.8 %
 * with a p50 of 389 ms, where every target that kept up was within 0.2 %). Either way it did not
 * serve the offered rate, and a ratio against it is not a throughput ratio.
 */
export function overloaded(r: TargetResult): boolean {
  if (r.offeredRate === 'max') return false;
  const offered = (r.offeredRate * r.connected * r.perConn) / r.channels;
  return r.deliveredPerSec < 0.95 * offered || r.deliveredPerSec > 1.02 * offered;
}

export function table(results: TargetResult[]): string {
  const head = ['target', 'subs', 'sent/s', 'acked/s', 'delivered/s', 'p50 ms', 'p99 ms', 'p999 ms', 'max ms',
    'RSS MB', 'KB/conn', 'srv CPU%', 'infra CPU%', 'load CPU%', 'other CPU%', 'B/msg', 'msgs/frame', 'violations'];
  const rows: string[][] = [head];
  for (const r of results) {
    if (r.skipped || r.error) {
      rows.push([r.target, r.skipped ? `skipped: ${r.skipped}` : `FAILED: ${r.error!.split('\n')[0]}`]);
      continue;
    }
    const v = r.violations;
    const viol = violationCount(r) === 0 ? '0'
      : `gaps ${v.gaps} (${v.missing} msgs) reord ${v.reorders} bad ${v.badFrames} closed ${v.closed} ` +
      `behind-after-drain ${v.undelivered} msgs/${v.lagging} subs`;
    rows.push([
      r.target + (r.aborted ? ' (ABORTED)' : '') + (overloaded(r) ? ' (OVERLOADED)' : ''), `${r.connected}`,
      k(r.pubSentPerSec), k(r.pubAckedPerSec), k(r.deliveredPerSec),
      f2(r.latencyMs.p50), f2(r.latencyMs.p99), f2(r.latencyMs.p999), f1(r.latencyMs.max),
      f1(r.serverRssMB.end), r.serverRssMB.perConnKB > 0 ? f1(r.serverRssMB.perConnKB) : 'n/a', f1(r.cpuPercent.server), f1(r.cpuPercent.infra), f1(r.cpuPercent.load), f1(r.cpuPercent.other),
      f1(r.wire?.bytesPerDelivery ?? NaN), f1(r.wire?.deliveriesPerMessage ?? NaN), viol,
    ]);
  }
  const full = rows.filter((row) => row.length === head.length);
  const widths = head.map((_, i) => Math.max(...full.map((row) => row[i]!.length)));
  return rows.map((row) => (row.length !== head.length
    ? `${row[0]!.padEnd(widths[0]!)}  ${row[1]}`
    : row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '))).join('\n');
}

/** One line per target: where the CPU of the measured window went, and what a delivery cost. */
export function cpuLines(results: TargetResult[]): string {
  const pct = (xs: number[]) => xs.map((x) => x.toFixed(0)).join('/') || '0';
  return results.filter((r) => r.cpuDetail).map((r) => {
    const d = r.cpuDetail!;
    const threads = d.serverThreads.map((t) => `main ${t.main.toFixed(0)} + ${pct(t.others)}`).join('; ');
    return `${r.target}: server threads % ${threads} | subscriber procs % ${pct(d.subscriberProcs)}, publisher procs % ${pct(d.publisherProcs)} | ` +
      `CPU µs per delivery: machine ${d.usPerDelivery.machine.toFixed(3)}, server ${d.usPerDelivery.server.toFixed(3)}, load ${d.usPerDelivery.load.toFixed(3)}`;
  }).join('\n');
}

export interface Ratio {
  numerator: TargetName; denominator: TargetName;
  delivered: number; p50: number; p99: number; p999: number; rss: number;
}

/** Storm vs raw-batched, socketio and centrifugo, plus every baseline vs raw-batched (ceiling). */
export function ratios(results: TargetResult[]): Ratio[] {
  const ok = new Map(results.filter((r) => !r.error && !r.skipped).map((r) => [r.target, r]));
  const pairs: [TargetName, TargetName][] = [
    ['storm', 'raw-batched'], ['storm', 'socketio'], ['storm', 'centrifugo'],
    ['storm-compact', 'raw-batched'], ['storm-compact', 'socketio'], ['storm-compact', 'centrifugo'],
    ['socketio', 'raw-batched'], ['centrifugo', 'raw-batched'], ['raw', 'raw-batched'],
  ];
  const out: Ratio[] = [];
  for (const [a, b] of pairs) {
    const x = ok.get(a);
    const y = ok.get(b);
    if (!x || !y) continue;
    out.push({
      numerator: a, denominator: b,
      delivered: x.deliveredPerSec / y.deliveredPerSec,
      p50: x.latencyMs.p50 / y.latencyMs.p50,
      p99: x.latencyMs.p99 / y.latencyMs.p99,
      p999: x.latencyMs.p999 / y.latencyMs.p999,
      rss: x.serverRssMB.end / y.serverRssMB.end,
    });
  }
  return out;
}

export function ratioTable(rs: Ratio[]): string {
  if (rs.length === 0) return '(no ratios: need two successful targets)';
  const lines = ['ratio                    delivered/s   p50 lat   p99 lat  p999 lat  server RSS'];
  for (const r of rs) {
    lines.push(`${`${r.numerator} / ${r.denominator}`.padEnd(24)} ${f2(r.delivered).padStart(11)} ${
      f2(r.p50).padStart(9)} ${f2(r.p99).padStart(9)} ${f2(r.p999).padStart(9)} ${f2(r.rss).padStart(11)}`);
  }
  lines.push('(delivered/s: higher is better; latency and RSS: lower is better)');
  if (rs.some((r) => r.denominator === 'centrifugo')) lines.push(`(against centrifugo: ${CENTRIFUGO_DURABILITY})`);
  return lines.join('\n');
}
