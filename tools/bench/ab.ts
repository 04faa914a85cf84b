// Interleaved A/B of two Storm builds under one benchmark driver. Runs the driver alternately with
// `--storm-bin A` and `--storm-bin B` (A B, then B A, and so on, so that a machine getting slower or
// faster during the session weighs on both sides alike), and prints every run's figures, then per
// side the mean and the range of each. On 2 shared cores one run proves little: runs of the same
// code differ by more than most changes, so a change is only shown when the ranges separate.
//
//   node dist-tools/tools/bench/ab.js --a OLD/dist/bin/storm.js --b dist/bin/storm.js [--rounds 4]
//        [--driver fanout|durable] [--json out.json] -- <the driver's own flags>
//
// Build the other side in a worktree: `git worktree add /tmp/old <commit>`, link node_modules,
// `npm run build` there.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { flags } from './args.ts';
import { cpuUsPer, k } from './fanout_report.ts';

/** One run's figures, by name (`storm-compact delivered/s`, `storm-compact / raw-batched`, ...). */
export type Figures = Record<string, number>;

export interface Run {
  round: number;
  side: 'A' | 'B';
  figures: Figures;
}

export interface Summary {
  figure: string;
  a: { mean: number; min: number; max: number; n: number };
  b: { mean: number; min: number; max: number; n: number };
  /** Mean of B over mean of A. */
  ratio: number;
  /**
   * True when each side has at least 2 runs and every B run is above every A run, or every one
   * below: the ranges do not overlap. One run a side shows no range at all.
   */
  separated: boolean;
}

/**
 * The figures of a fan-out driver's JSON: per target delivered/s, p99 and the server's CPU µs per
 * delivery (on shared cores the least moved by what else runs), and the ratios to raw-batched.
 */
export function fanoutFigures(json: any): Figures {
  const out: Figures = {};
  for (const r of json.results ?? []) {
    if (typeof r.deliveredPerSec !== 'number') continue;
    out[`${r.target} delivered/s`] = r.deliveredPerSec;
    if (typeof r.latencyMs?.p99 === 'number') out[`${r.target} p99 ms`] = r.latencyMs.p99;
    const cpu = r.cpuDetail?.usPerDelivery?.server;
    if (typeof cpu === 'number') out[`${r.target} server CPU µs/delivery`] = cpu;
  }
  for (const q of json.ratios ?? []) {
    if (q.denominator === 'raw-batched' && typeof q.delivered === 'number') out[`${q.numerator} / raw-batched`] = q.delivered;
  }
  return out;
}

/**
 * The figures of the durable driver's JSON: Storm's acked/s and p99, the CPU per acknowledged
 * publish of the server and of PostgreSQL (what a change to either costs or saves, less at the
 * mercy of the shared cores than throughput), and the ratio to raw pg.
 */
export function durableFigures(json: any): Figures {
  const out: Figures = {};
  const s = json.storm;
  if (typeof s?.ackedPerSec === 'number') out['storm acked/s'] = s.ackedPerSec;
  if (typeof s?.latencyMs?.p99 === 'number') out['storm p99 ms'] = s.latencyMs.p99;
  if (s?.ackedPerSec > 0) {
    if (typeof s.cpuPercent?.server === 'number') out['server CPU µs/publish'] = cpuUsPer(s.cpuPercent.server, s.ackedPerSec);
    if (typeof s.cpuPercent?.postgres === 'number') out['PostgreSQL CPU µs/publish'] = cpuUsPer(s.cpuPercent.postgres, s.ackedPerSec);
  }
  if (typeof json.rawPg?.rowsPerSec === 'number') out['raw pg rows/s'] = json.rawPg.rowsPerSec;
  if (typeof json.ratio === 'number') out['storm / raw pg'] = json.ratio;
  return out;
}

/** Mean, range and count of one figure's measurements. */
export function spread(xs: readonly number[]): { mean: number; min: number; max: number; n: number } {
  return { mean: xs.reduce((s, x) => s + x, 0) / (xs.length || 1), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

/** Per figure present in both sides' runs: each side's mean and range, and B's mean over A's. */
export function summarize(runs: readonly Run[]): Summary[] {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.figures)))];
  const stats = (side: 'A' | 'B', name: string) => spread(runs.filter((r) => r.side === side && name in r.figures).map((r) => r.figures[name]!));
  const out: Summary[] = [];
  for (const figure of names) {
    const a = stats('A', figure);
    const b = stats('B', figure);
    if (a.n === 0 || b.n === 0) continue;
    out.push({ figure, a, b, ratio: b.mean / a.mean, separated: a.n >= 2 && b.n >= 2 && (b.min > a.max || b.max < a.min) });
  }
  return out;
}

/**
 * The two sides of an in-process micro-benchmark (alternating rounds, one timing each), summarized
 * as the A/B runs are: each side's mean and range, B's mean over A's, and whether the ranges separate.
 */
export function microReport(unit: string, a: { name: string; xs: readonly number[] }, b: { name: string; xs: readonly number[] }): string {
  const runs: Run[] = [
    ...a.xs.map((x, i): Run => ({ round: i + 1, side: 'A', figures: { [unit]: x } })),
    ...b.xs.map((x, i): Run => ({ round: i + 1, side: 'B', figures: { [unit]: x } })),
  ];
  const [s] = summarize(runs);
  const w = Math.max(a.name.length, b.name.length);
  const side = (name: string, v: Summary['a']) => `${name.padEnd(w)}  ${v.mean.toFixed(3)} ${unit} [${v.min.toFixed(3)}–${v.max.toFixed(3)}]`;
  return [side(a.name, s!.a), side(b.name, s!.b), `${b.name} / ${a.name}: ${s!.ratio.toFixed(2)} (ranges ${s!.separated ? 'separate' : 'overlap'})`].join('\n');
}

/** Side of each run: A B, B A, A B, ... */
export function order(rounds: number): Array<'A' | 'B'> {
  const sides: Array<'A' | 'B'> = [];
  for (let i = 0; i < rounds; i++) sides.push(...(i % 2 === 0 ? (['A', 'B'] as const) : (['B', 'A'] as const)));
  return sides;
}

function fmt(v: number): string {
  if (!Number.isFinite(v) || Math.abs(v) >= 1000) return k(v);
  return v.toFixed(Math.abs(v) >= 10 ? 1 : 3);
}

export function report(runs: readonly Run[], summary: readonly Summary[]): string {
  const lines = ['| round | side | ' + summary.map((s) => s.figure).join(' | ') + ' |', '|---|---|' + summary.map(() => '---:|').join('')];
  for (const r of runs) lines.push(`| ${r.round} | ${r.side} | ` + summary.map((s) => (s.figure in r.figures ? fmt(r.figures[s.figure]!) : '-')).join(' | ') + ' |');
  lines.push('', '| figure | A mean [min–max] | B mean [min–max] | B / A | ranges |', '|---|---:|---:|---:|---|');
  for (const s of summary) {
    lines.push(`| ${s.figure} | ${fmt(s.a.mean)} [${fmt(s.a.min)}–${fmt(s.a.max)}] | ${fmt(s.b.mean)} [${fmt(s.b.min)}–${fmt(s.b.max)}] | ${s.ratio.toFixed(3)} | ${s.separated ? 'separate' : s.a.n < 2 || s.b.n < 2 ? 'one run a side: no range' : 'overlap'} |`);
  }
  return lines.join('\n');
}

function runDriver(script: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, script, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(script)} exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const cut = argv.indexOf('--');
  const own = cut >= 0 ? argv.slice(0, cut) : argv;
  const driverArgs = cut >= 0 ? argv.slice(cut + 1) : [];
  const { get, int, done } = flags(own);
  const a = get('a', '');
  const b = get('b', '');
  const rounds = int('rounds', 4, 1);
  const driver = get('driver', 'fanout');
  const jsonOut = get('json', '');
  done('interleaved A/B of two Storm builds: node dist-tools/tools/bench/ab.js --a BIN --b BIN [flags] -- <driver flags>');
  if (!a || !b) throw new Error('Cannot run an A/B without --a and --b (two dist/bin/storm.js paths)');
  if (driver !== 'fanout' && driver !== 'durable') throw new Error(`Unknown --driver ${driver} (fanout or durable)`);
  if (driverArgs.some((x) => x === '--storm-bin' || x === '--json')) throw new Error('Pass --storm-bin and --json to ab, not to the driver');
  const here = path.dirname(fileURLToPath(import.meta.url));
  const script = path.join(here, `${driver === 'fanout' ? 'fanout_bench' : 'durable_bench'}${path.extname(fileURLToPath(import.meta.url))}`);
  const extract = driver === 'fanout' ? fanoutFigures : durableFigures;
  const tmp = mkdtempSync(path.join(tmpdir(), 'storm-ab-'));
  const runs: Run[] = [];
  try {
    for (const [i, side] of order(rounds).entries()) {
      const out = path.join(tmp, `${i}.json`);
      const round = Math.floor(i / 2) + 1;
      process.stderr.write(`ab: round ${round}, side ${side}\n`);
      await runDriver(script, [...driverArgs, '--storm-bin', path.resolve(side === 'A' ? a : b), '--json', out]);
      runs.push({ round, side, figures: extract(JSON.parse(readFileSync(out, 'utf8'))) });
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const summary = summarize(runs);
  process.stdout.write(`A = ${a}\nB = ${b}\ndriver: ${driver} ${driverArgs.join(' ')}; 2 shared cores\n\n${report(runs, summary)}\n`);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ a, b, driver, driverArgs, date: new Date().toISOString(), runs, summary }, null, 2));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
