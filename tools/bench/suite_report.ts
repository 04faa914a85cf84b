// Markdown and SVG for the benchmark suite (bench/suite.ts): per scenario the figures of every
// target, the ratios against the baselines of the same run, and the issue's targets met or not.
import type { FanoutOutput } from './fanout_bench.ts';
import { CENTRIFUGO_DURABILITY } from './baselines/centrifugo.ts';
import { overloaded, type TargetResult } from './fanout_report.ts';

export interface ScenarioRun {
  def: { id: string; title: string };
  command: string;
  seconds?: number;
  code?: number;
  data?: unknown;
  error?: string;
  /** Set when the result comes from an earlier run (its date), not from this one. */
  earlier?: string;
  /** With `--repeat`: every run's result, oldest first (null: that run gave none); `data` is the median one (`medianRun`). */
  rounds?: unknown[];
}

const k = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');
const yes = (ok: boolean) => (ok ? '**met**' : '**not met**');

function violations(r: TargetResult): string {
  const v = r.violations;
  const n = v.gaps + v.reorders + v.badFrames + v.closed + v.undelivered;
  return n === 0 ? '0' : `gaps ${v.gaps}, reorders ${v.reorders}, closed ${v.closed}, behind ${v.undelivered}`;
}

function fanoutTable(d: FanoutOutput): string[] {
  const rows = [
    '| target | delivered/s | acked pub/s | p50 ms | p99 ms | p999 ms | server RSS MB: end (peak) | CPU % server / infra / load / other | bytes per delivery, deliveries per WebSocket message | violations |',
    '|---|---:|---:|---:|---:|---:|---:|---|---|---|',
  ];
  for (const r of d.results) {
    if (r.error || r.skipped) {
      rows.push(`| ${r.target} | ${r.error ? `FAILED: ${r.error.split('\n')[0]}` : `skipped: ${r.skipped}`} | | | | | | | | |`);
      continue;
    }
    const c = r.cpuPercent;
    const name = r.target.startsWith('storm') ? `**${r.target}**${r.nodes > 1 ? ` (${r.nodes} nodes)` : ''}` : r.target;
    rows.push(`| ${name}${overloaded(r) ? ' (overloaded)' : ''} | ${k(r.deliveredPerSec)} | ${k(r.pubAckedPerSec)} | ${f1(r.latencyMs.p50)} | ${
      f1(r.latencyMs.p99)} | ${f1(r.latencyMs.p999)} | ${f1(r.serverRssMB.end)} (${f1(r.serverRssMB.peakDuringRun)}) | ${f1(c.server)} / ${f1(c.infra ?? 0)} / ${f1(c.load)} / ${f1(c.other)} | ${
      r.wire ? `${f1(r.wire.bytesPerDelivery)} B, ${f1(r.wire.deliveriesPerMessage)}` : '–'} | ${violations(r)} |`);
  }
  for (const t of ['storm', 'storm-compact']) {
    const rs = d.ratios.filter((x) => x.numerator === t);
    // A ratio against an overloaded target compares with what it managed, not with the offered rate.
    const behind = (name: string) => d.results.some((r) => r.target === name && !r.error && !r.skipped && overloaded(r));
    if (rs.length) {
      rows.push('', rs.map((x) => `${t} / ${x.denominator}${behind(x.denominator) ? ` (${x.denominator} overloaded)` : ''}: ` +
        `delivered **${f2(x.delivered)}**, p99 ${f2(x.p99)}×, server RSS ${f2(x.rss)}×` +
        (x.denominator === 'centrifugo' ? ` (${CENTRIFUGO_DURABILITY})` : '')).join('; ') + '.');
    }
  }
  const detailed = d.results.filter((r) => r.cpuDetail && !r.error && !r.skipped);
  if (detailed.length) {
    rows.push('', 'CPU µs per delivery, server / load (2 shared cores): ' + detailed.map((r) =>
      `${r.target} ${r.cpuDetail!.usPerDelivery.server.toFixed(3)} / ${r.cpuDetail!.usPerDelivery.load.toFixed(3)}`).join(', ') + '. ' +
      'Server threads, % of a core (main + others): ' + detailed.map((r) =>
      `${r.target} ${r.cpuDetail!.serverThreads.map((t) => `${f1(t.main)} + ${t.others.map((x) => x.toFixed(0)).join('/') || '0'}`).join('; ')}`).join(', ') + '.');
  }
  return rows;
}

/** Every run of scenario `id` in this suite run (several with `--repeat`), oldest first; null for a run that gave no result. */
function all<T>(runs: ScenarioRun[], id: string): Array<T | null> {
  const r = runs.find((x) => x.def.id === id);
  if (!r?.data) return [];
  return (r.rounds ?? [r.data]) as Array<T | null>;
}

/** A run of a target line's scenario without the figures it needs (a driver or a target failed): it did not meet the line. */
const NO_RESULT: Check = { figure: 'no result', ok: false };

function result(d: FanoutOutput | undefined, t: string): TargetResult | undefined {
  const r = d?.results.find((x) => x.target === t);
  return r && !r.error && !r.skipped ? r : undefined;
}

/** One target line measured in each run of its scenario: the figure and whether it met the line. */
interface Check { figure: string; ok: boolean }

/**
 * A target line over the runs of a scenario. One run: its figure. Several: every run's figure in
 * order, and met only when more than half the runs met it (a target met in a minority of runs is
 * reported as not met, with the count).
 */
function line(label: string, checks: Check[]): string | undefined {
  if (checks.length === 0) return undefined;
  if (checks.length === 1) return `| ${label} | ${checks[0]!.figure} | ${yes(checks[0]!.ok)} |`;
  const met = checks.filter((c) => c.ok).length;
  return `| ${label} | ${checks.length} runs: ${checks.map((c) => `${c.figure}${c.ok ? ' ✓' : ''}`).join('; ')} | ${yes(met * 2 > checks.length)} in ${met} of ${checks.length} runs |`;
}

/** The issue's "done when" lines, checked against this run. */
function targets(runs: ScenarioRun[]): string[] {
  const out = ['| target (issue #5, or #31 where marked) | this run | |', '|---|---|---|'];
  const amax = all<FanoutOutput>(runs, 'amax');
  const a200 = all<FanoutOutput>(runs, 'a200');
  const push = (l: string | undefined) => { if (l) out.push(l); };
  // Each (a) line per wire format measured: `storm` (object msgs frames, the default) and
  // `storm-compact` (`?enc=compact`). Ratios compare targets of the same run.
  for (const t of ['storm', 'storm-compact']) {
    const enc = t === 'storm' ? 'default msgs frames' : 'compact msgs frames';
    const vs = (base: string, min: number, unit: string) => amax.map((d): Check => {
      const s = result(d ?? undefined, t);
      const b = result(d ?? undefined, base);
      return s && b ? { figure: `${f2(s.deliveredPerSec / b.deliveredPerSec)}${unit}`, ok: s.deliveredPerSec >= min * b.deliveredPerSec } : NO_RESULT;
    });
    push(line(`(a) ≥ 0.80 of raw-batched deliveries (max rate), ${enc}`, vs('raw-batched', 0.8, '')));
    push(line(`(a) ≥ 3× Socket.IO deliveries (max rate), ${enc}`, vs('socketio', 3, '×')));
    push(line(`(a) p99 publish-to-deliver < 50 ms (200 msg/s), ${enc}`, a200.map((d): Check => {
      const s = result(d ?? undefined, t);
      return s ? { figure: `${f1(s.latencyMs.p99)} ms`, ok: s.latencyMs.p99 < 50 } : NO_RESULT;
    })));
  }
  // Both halves of (c) are one target: a run meets it only when it meets both.
  for (const [id, shape] of [['c', '100 clients × 8 in flight'], ['c10', '10 publishers × 128 in flight']] as const) {
    push(line(`(c) ≥ 50,000 acked publishes/s to PostgreSQL with p99 ack latency < 50 ms, ${shape}`,
      all<DurableOutput>(runs, id).map((c): Check => c?.storm ? {
        figure: `${k(c.storm.ackedPerSec)}/s, p99 ${f1(c.storm.latencyMs.p99)} ms`,
        ok: c.storm.ackedPerSec >= 50_000 && c.storm.latencyMs.p99 < 50,
      } : NO_RESULT)));
  }
  const d = runs.find((x) => x.def.id === 'd')?.data as ConnsOutput | undefined;
  const ds = d?.results?.find((x) => x.target === 'storm');
  if (ds && !ds.error) {
    out.push(`| (d) 100,000 connections held | ${k(ds.held)} over ${ds.nodes} node processes | ${yes(ds.held >= 100_000)} |`);
    out.push(`| (d) < 10 KB server memory per idle connection | ${f1(ds.kbPerConnIdle)} KB (at connect: ${f1(ds.kbPerConn)}) | ${yes(ds.kbPerConnIdle < 10)} |`);
  }
  manyRoomsTargets(runs).forEach(push);
  return out;
}

/** Server CPU µs per delivery of a target's run. */
const cpuPer = (r: TargetResult | undefined): number => r?.cpuDetail?.usPerDelivery.server ?? NaN;

/** Issue #31's lines: many small rooms (each (b) shape) and the footprint under load, against Centrifugo and raw `ws` of the same run. */
function manyRoomsTargets(runs: ScenarioRun[]): Array<string | undefined> {
  const pair = (d: FanoutOutput | null, base: string) => ({ s: result(d ?? undefined, 'storm'), x: result(d ?? undefined, base) });
  const cpuVs = (b: Array<FanoutOutput | null>, base: string, factor: number) => b.map((d): Check => {
    const { s, x } = pair(d, base);
    return s && x && Number.isFinite(cpuPer(s) / cpuPer(x))
      ? { figure: `${f1(cpuPer(s))} / ${f1(cpuPer(x))} µs = ${f2(cpuPer(s) / cpuPer(x))}×`, ok: cpuPer(s) <= factor * cpuPer(x) } : NO_RESULT;
  });
  const hasCentrifugo = ['a200', 'amax', 'b', 'b1k'].some((id) => all<FanoutOutput>(runs, id).some((d) => result(d ?? undefined, 'centrifugo')));
  const lines: Array<string | undefined> = [];
  for (const id of ['b', 'b1k']) {
    const b = all<FanoutOutput>(runs, id);
    lines.push(line(`(${id}) #31: Storm server CPU per delivery ≤ 1.3× raw-batched's`, cpuVs(b, 'raw-batched', 1.3)));
    lines.push(line(`(${id}) #31: p99 publish-to-deliver ≤ 2× raw-batched's (Storm's includes its durable commit)`, b.map((d): Check => {
      const { s, x } = pair(d, 'raw-batched');
      return s && x ? { figure: `${f1(s.latencyMs.p99)} / ${f1(x.latencyMs.p99)} ms = ${f2(s.latencyMs.p99 / x.latencyMs.p99)}×`, ok: s.latencyMs.p99 <= 2 * x.latencyMs.p99 } : NO_RESULT;
    })));
    if (hasCentrifugo) lines.push(line(`(${id}) #31: Storm server CPU per delivery ≤ Centrifugo's (${CENTRIFUGO_DURABILITY})`, cpuVs(b, 'centrifugo', 1)));
  }
  if (!hasCentrifugo) return lines;
  for (const id of ['a200', 'amax', 'b', 'b1k']) {
    lines.push(line(`(${id}) #31: Storm server RSS (peak during the run) ≤ 2× Centrifugo's (${CENTRIFUGO_DURABILITY})`, all<FanoutOutput>(runs, id).map((d): Check => {
      const { s, x } = pair(d, 'centrifugo');
      return s && x ? { figure: `${f1(s.serverRssMB.peakDuringRun)} / ${f1(x.serverRssMB.peakDuringRun)} MB = ${f2(s.serverRssMB.peakDuringRun / x.serverRssMB.peakDuringRun)}×`,
        ok: s.serverRssMB.peakDuringRun <= 2 * x.serverRssMB.peakDuringRun } : NO_RESULT;
    })));
  }
  return lines;
}

/**
 * The run of a repeated scenario whose tables are shown in full: the median run by the scenario's
 * headline figure (Storm's delivered/s relative to raw-batched for fan-out at max rate, p99 at a
 * fixed rate, acked/s for durable publish, memory per idle connection for connections).
 */
export function medianRun(id: string, rounds: unknown[]): number {
  if (rounds.length <= 1) return 0;
  const key = (d: unknown): number => {
    if (!d) return NaN;
    if (id.startsWith('c')) return (d as DurableOutput).storm?.ackedPerSec ?? NaN;
    if (id === 'd') return (d as ConnsOutput).results?.find((x) => x.target === 'storm')?.kbPerConnIdle ?? NaN;
    const f = d as FanoutOutput;
    const s = result(f, 'storm-compact') ?? result(f, 'storm');
    const b = result(f, 'raw-batched');
    if (!s) return NaN;
    return f.params?.rate === 'max' && b ? s.deliveredPerSec / b.deliveredPerSec : s.latencyMs?.p99 ?? NaN;
  };
  const order = rounds.map((d, i) => ({ i, v: key(d) })).filter((x) => Number.isFinite(x.v)).sort((a, b) => a.v - b.v);
  return order.length ? order[Math.floor((order.length - 1) / 2)]!.i : 0;
}

interface DurableOutput {
  storm: { ackedPerSec: number; latencyMs: { p50: number; p99: number; p999: number }; cpuPercent: { server: number; postgres: number; load: number; machine: number }; rowsPerTransaction: number; durability: { missing: number; gappy: number } };
  rawPg: { rowsPerSec: number };
  ratio: number;
}

/** The shape conns_bench writes: one result per target. */
interface ConnsOutput {
  results?: Array<{
    target: string; nodes: number; held: number; failed: number; connectPerSec: number; connectLatencyMs: { p50: number; p99: number };
    /** Server RSS growth per connection once all connected; and at the end of the hold (after GC). */
    kbPerConn: number; kbPerConnIdle: number; heapKbPerConn?: number; errors: Record<string, number>; error?: string; skipped?: string;
  }>;
}

function durableTable(d: DurableOutput): string[] {
  const s = d.storm;
  return [
    '| target | acked/s | p50 ms | p99 ms | p999 ms | rows/txn | CPU % server / PostgreSQL / load | journal check |',
    '|---|---:|---:|---:|---:|---:|---|---|',
    `| **storm** | ${k(s.ackedPerSec)} | ${f1(s.latencyMs.p50)} | ${f1(s.latencyMs.p99)} | ${f1(s.latencyMs.p999)} | ${f1(s.rowsPerTransaction)} | ${
      f1(s.cpuPercent.server)} / ${f1(s.cpuPercent.postgres)} / ${f1(s.cpuPercent.load)} | missing ${s.durability.missing}, gaps ${s.durability.gappy} |`,
    `| raw pg INSERT (no fencing, no dedupe, no sockets) | ${k(d.rawPg.rowsPerSec)} rows/s | | | | | | |`,
    '', `Storm / raw pg: **${f2(d.ratio)}**. Socket.IO has no durable publish: the baseline here is PostgreSQL itself.`,
  ];
}

function connsTable(d: ConnsOutput): string[] {
  const rows = ['| target | server processes | held | failed | connect/s | connect p50 / p99 ms | server KB per connection: connected / end of hold | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---|'];
  for (const r of d.results ?? []) {
    if (r.error) { rows.push(`| ${r.target} | FAILED: ${r.error.split('\n')[0]} | | | | | | |`); continue; }
    if (r.skipped) { rows.push(`| ${r.target} | skipped: ${r.skipped} | | | | | | |`); continue; }
    const errs = Object.entries(r.errors ?? {}).map(([e, n]) => `${e} ${n}`).join(', ') || '0';
    rows.push(`| ${r.target === 'storm' ? '**storm**' : r.target} | ${r.nodes} | ${k(r.held)} | ${k(r.failed)} | ${k(r.connectPerSec)} | ${
      f1(r.connectLatencyMs.p50)} / ${f1(r.connectLatencyMs.p99)} | ${f1(r.kbPerConn)} / ${f1(r.kbPerConnIdle)} | ${errs} |`);
  }
  const by = new Map((d.results ?? []).filter((r) => !r.error && !r.skipped).map((r) => [r.target, r]));
  const s = by.get('storm');
  if (s) {
    const parts = ['raw', 'socketio', 'centrifugo'].filter((t) => by.has(t)).map((t) => `Storm / ${t}: ${f2(s.kbPerConnIdle / by.get(t)!.kbPerConnIdle)}× the memory per idle connection` +
      (t === 'centrifugo' ? ` (${CENTRIFUGO_DURABILITY})` : ''));
    if (parts.length) rows.push('', parts.join('; ') + '.');
  }
  return rows;
}

/** When the shown results were measured: this run's start, and the earlier runs' dates where some were not re-run. */
function runDates(runs: ScenarioRun[], started: Date): string {
  const utc = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;
  const dates = new Set(runs.map((r) => (r.earlier ? (r.earlier === 'unknown date' ? r.earlier : utc(r.earlier)) : utc(started.toISOString()))));
  return [...dates].sort().join(', ');
}

export function renderMarkdown(runs: ScenarioRun[], o: { started: Date; machine: string; quick: boolean; svg: string; outDir: string }): string {
  const lines = [
    `## Benchmark suite (\`npm run bench:suite\`), ${runDates(runs, o.started)}${o.quick ? ' — QUICK smoke run, not for quoting' : ''}`,
    '',
    `**Machine caveat:** ${o.machine}; **2 cores shared** by the servers, the load generator and the databases`,
    'of every run below; the `other` CPU column is what the rest of the machine took meanwhile. Each ratio compares',
    'targets measured in the same run, one after the other, on the same machine, by the same load generator.',
    'Raw JSON and logs: `' + o.outDir + '/`.',
    '',
    `![delivered/s relative to raw-batched, per scenario](${o.svg.replace(/^.*tools\/bench\//, 'tools/bench/')})`,
    '',
    ...targets(runs),
    '',
  ];
  for (const r of runs) {
    lines.push(`### ${r.def.title}`, '');
    if (r.earlier) lines.push(`*Not re-run with the others: the result of an earlier run of the suite's driver, ${r.earlier.slice(0, 16).replace('T', ' ')} UTC.*`, '');
    lines.push('```sh', r.command, '```', '');
    if (r.rounds && r.rounds.length > 1 && r.data) {
      lines.push(`Run ${r.rounds.length} times in a row; the target lines above count every run, the tables below show the median run ` +
        `(run ${r.rounds.indexOf(r.data) + 1}: ${r.def.id.startsWith('c') ? 'by acked/s' : 'by Storm delivered/s relative to raw-batched, or by p99 at a fixed rate'}).`, '');
    }
    if (!r.data) {
      lines.push(`Not measured: ${r.error ?? 'no result'}.`, '');
      continue;
    }
    if (r.def.id.startsWith('c')) lines.push(...durableTable(r.data as DurableOutput));
    else if (r.def.id === 'd') lines.push(...connsTable(r.data as ConnsOutput));
    else lines.push(...fanoutTable(r.data as FanoutOutput));
    if (!r.earlier) lines.push('', `(${f1(r.seconds ?? NaN)} s, exit ${r.code})`, '');
    else lines.push('');
  }
  return lines.join('\n');
}

/** Grouped bars: delivered/s of every target relative to raw-batched in the same scenario; p99 above each bar. */
export function renderSvg(runs: ScenarioRun[], machine: string): string {
  const targetsShown = ['raw-batched', 'socketio', 'centrifugo', 'storm', 'storm-compact'] as const;
  const colors: Record<string, string> = { 'raw-batched': '#9aa5b1', socketio: '#e0a33b', centrifugo: '#3aa676', storm: '#2f6fdf', 'storm-compact': '#1b3f8a' };
  const isFanout = (r: ScenarioRun) => (r.data as FanoutOutput | undefined)?.results?.some((x) => x.deliveredPerSec !== undefined) ?? false;
  const groups = runs.filter(isFanout).map((r) => {
    const d = r.data as FanoutOutput;
    const base = result(d, 'raw-batched')?.deliveredPerSec ?? NaN;
    return {
      id: r.def.id,
      bars: targetsShown.map((t) => {
        const x = result(d, t);
        return { t, ratio: x ? x.deliveredPerSec / base : NaN, p99: x?.latencyMs.p99 ?? NaN };
      }),
    };
  });
  const W = 760;
  const H = 360;
  const left = 60;
  const top = 40;
  const plotH = 240;
  const maxRatio = Math.max(1.2, ...groups.flatMap((g) => g.bars.map((b) => (Number.isFinite(b.ratio) ? b.ratio : 0))));
  const gw = groups.length ? (W - left - 20) / groups.length : 1;
  const bw = Math.min(48, (gw - 30) / targetsShown.length);
  const y = (v: number) => top + plotH - (v / maxRatio) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${left}" y="18" font-size="13">Delivered messages/s relative to raw-batched ws (same run); label: p99 ms</text>`,
    `<text x="${left}" y="32" fill="#555">${escapeXml(machine)}; 2 cores shared by servers, load generator and databases</text>`,
    `<line x1="${left}" y1="${y(1)}" x2="${W - 20}" y2="${y(1)}" stroke="#444" stroke-dasharray="4 3"/>`,
    `<text x="${left - 6}" y="${y(1) + 4}" text-anchor="end">1.0</text>`,
    `<text x="${left - 6}" y="${y(0) + 4}" text-anchor="end">0</text>`,
    `<line x1="${left}" y1="${y(0)}" x2="${W - 20}" y2="${y(0)}" stroke="#444"/>`,
  ];
  groups.forEach((g, gi) => {
    const x0 = left + gi * gw + 15;
    g.bars.forEach((b, bi) => {
      const x = x0 + bi * bw;
      if (!Number.isFinite(b.ratio)) {
        parts.push(`<text x="${x + bw / 2}" y="${y(0) - 4}" text-anchor="middle" fill="#999">n/a</text>`);
        return;
      }
      parts.push(`<rect x="${x}" y="${y(b.ratio)}" width="${bw - 4}" height="${y(0) - y(b.ratio)}" fill="${colors[b.t]}"/>`);
      parts.push(`<text x="${x + (bw - 4) / 2}" y="${y(b.ratio) - 4}" text-anchor="middle">${b.ratio.toFixed(2)}</text>`);
      parts.push(`<text x="${x + (bw - 4) / 2}" y="${y(b.ratio) - 16}" text-anchor="middle" fill="#555">${b.p99 >= 100 ? Math.round(b.p99) : b.p99.toFixed(1)}</text>`);
    });
    parts.push(`<text x="${x0 + (bw * targetsShown.length) / 2}" y="${y(0) + 16}" text-anchor="middle">${g.id}</text>`);
  });
  targetsShown.forEach((t, i) => {
    parts.push(`<rect x="${left + i * 120}" y="${H - 30}" width="12" height="12" fill="${colors[t]}"/>`);
    parts.push(`<text x="${left + i * 120 + 16}" y="${H - 20}">${t}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
