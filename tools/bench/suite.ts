// The benchmark suite: every scenario of the issue against its baselines, in one run on this
// machine, then the ratios, the commands and a plot written into BENCHMARKS.md (between the
// `suite:begin` / `suite:end` markers) and tools/bench/results/suite/.
//
//   npm run bench:suite -- [--only a200,amax,b,c,d,e] [--repeat N] [--quick] [--out tools/bench/results/suite] [--no-write]
//
// With --only, a scenario not run shows the result already in the output directory (if any),
// marked with its date as an earlier run (`--only none` re-renders every stored result).
//
// Each scenario runs its driver as a child process with --json; a failed scenario is reported as
// such and the others still run. --quick shrinks every scenario (a smoke run of the whole suite,
// its figures are not the ones to quote), and fails when Storm's server CPU per delivery in (b)
// exceeds a bound times raw `ws`'s in the same run (bench/suite_checks.ts). --repeat N runs each scenario N times in a row: on 2
// shared cores identical runs differ by ±20 %, so a target line then counts the runs that met it
// (met when more than half did), and the tables show the median run.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { flags } from './args.ts';
import type { FanoutOutput } from './fanout_bench.ts';
import { checkManyRoomsCpu, describeCpuChecks } from './suite_checks.ts';
import { medianRun, renderMarkdown, renderSvg, type ScenarioRun } from './suite_report.ts';

const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, EXT === '.ts' ? '../..' : '../../..');

export interface ScenarioDef {
  id: string;
  title: string;
  script: string;
  args: string[];
  /** Flags replaced in the quick suite; none: the quick suite leaves the scenario out. */
  quick?: string[];
}

/** The fixed scenarios. `quick` replaces flags for a smoke run. */
export const SUITE: ScenarioDef[] = [
  {
    id: 'a200', title: '(a) fan-out: 1 channel → 1,000 subscribers, 200 msg/s offered', script: 'fanout_bench',
    args: ['--subscribers', '1000', '--rate', '200', '--duration', '15', '--warmup', '3', '--targets', 'raw-batched,raw,socketio,centrifugo,storm,storm-compact'],
    quick: ['--subscribers', '100', '--duration', '2', '--warmup', '1'],
  },
  {
    id: 'amax', title: '(a) fan-out: 1 channel → 1,000 subscribers, as fast as acks allow', script: 'fanout_bench',
    args: ['--subscribers', '1000', '--rate', 'max', '--window', '256', '--duration', '15', '--warmup', '3', '--targets', 'raw-batched,socketio,centrifugo,storm,storm-compact'],
    quick: ['--subscribers', '100', '--duration', '2', '--warmup', '1'],
  },
  {
    id: 'b', title: '(b) many rooms: 10,000 channels × 10 subscribers, 5,000 msg/s offered', script: 'fanout_bench',
    args: ['--subscribers', '10000', '--channels', '10000', '--per-conn', '10', '--rate', '5000', '--pub-procs', '2',
      '--load-procs', '4', '--duration', '15', '--warmup', '3', '--targets', 'raw-batched,socketio,centrifugo,storm'],
    quick: ['--subscribers', '200', '--channels', '200', '--rate', '500', '--duration', '2', '--warmup', '1'],
  },
  {
    // Issue #31's shape: batches stay small (2 publishes per room per second), so a publish's
    // fixed costs show; (b)'s 10,000 rooms at 5,000 msg/s batch more and hide them. The quick
    // suite's (b) already has this shape.
    id: 'b1k', title: '(b) many rooms: 1,000 channels × 10 subscribers, 2,000 msg/s offered', script: 'fanout_bench',
    args: ['--subscribers', '1000', '--channels', '1000', '--per-conn', '10', '--rate', '2000', '--load-procs', '2',
      '--duration', '15', '--warmup', '3', '--targets', 'raw-batched,socketio,centrifugo,storm'],
  },
  {
    id: 'c', title: '(c) durable publish to PostgreSQL: 100 client connections, 8 publishes in flight each', script: 'durable_bench',
    args: ['--window', '8', '--duration', '15'],
    quick: ['--duration', '3', '--warmup', '1', '--raw-duration', '2', '--pg-wal-warm', '64'],
  },
  {
    // The shape of a backend service publishing through Storm: few connections, each sending 64
    // publishes per WebSocket message, with up to 128 awaiting their acks.
    id: 'c10', title: '(c) durable publish to PostgreSQL: 10 publisher connections, 64 publishes per message, 128 in flight each', script: 'durable_bench',
    args: ['--conns', '10', '--window', '128', '--batch', '64', '--duration', '15'],
    quick: ['--duration', '3', '--warmup', '1', '--raw-duration', '2', '--pg-wal-warm', '64'],
  },
  {
    // Held 120 s: V8 hands the connect burst's heap back over a minute or two of idleness (Storm's
    // 6 nodes, 2026-11-22: 10.2 KB per connection right after the burst, ~9 at 30 s, 6.4 at 120 s),
    // so a shorter hold measures where that return stands, not what an idle connection keeps.
    id: 'd', title: '(d) 100,000 idle connections over 6 node processes', script: 'conns_bench',
    args: ['--connections', '100000', '--nodes', '6', '--load-procs', '6', '--hold', '120', '--settle', '5', '--targets', 'raw,socketio,centrifugo,storm'],
    quick: ['--connections', '2000', '--nodes', '2', '--load-procs', '2', '--hold', '3', '--settle', '1'],
  },
  {
    id: 'e', title: '(e) cluster fan-out: 1 channel → 1,000 subscribers over 3 Storm nodes, 200 msg/s', script: 'fanout_bench',
    args: ['--subscribers', '1000', '--rate', '200', '--nodes', '3', '--duration', '15', '--warmup', '3', '--targets', 'raw-batched,socketio,storm'],
    quick: ['--subscribers', '100', '--duration', '2', '--warmup', '1'],
  },
];

/** `base` with each flag of `over` replaced (or added). */
export function override(base: string[], over: string[]): string[] {
  const out = [...base];
  for (let i = 0; i < over.length; i += 2) {
    const at = out.indexOf(over[i]!);
    if (at >= 0) out[at + 1] = over[i + 1]!;
    else out.push(over[i]!, over[i + 1]!);
  }
  return out;
}

function runChild(script: string, args: string[], logFile: string): Promise<number> {
  return new Promise((resolve) => {
    const out = fs.createWriteStream(logFile);
    const child = spawn(process.execPath, [...process.execArgv, script, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => { out.write(d); process.stdout.write(d); });
    child.stderr.on('data', (d: Buffer) => { out.write(d); process.stderr.write(d); });
    const stop = () => child.kill('SIGTERM');
    process.on('SIGINT', stop);
    child.on('exit', (code) => {
      process.off('SIGINT', stop);
      out.end();
      resolve(code ?? 1);
    });
  });
}

async function main(argv: string[]): Promise<void> {
  const { get, has, int, done } = flags(argv);
  const quick = has('quick');
  const repeat = int('repeat', 1, 1);
  const noWrite = has('no-write');
  const only = get('only', '') ? get('only', '').split(',') : undefined;
  const outDir = path.resolve(get('out', '') || path.join(repoRoot, 'tools/bench/results', quick ? 'suite-quick' : 'suite'));
  done(`benchmark suite: node dist-tools/tools/bench/suite.js [flags]; --only takes some of ${SUITE.map((s) => s.id).join(',')}`);
  const unknown = only?.filter((id) => id !== 'none' && !SUITE.some((s) => s.id === id)) ?? [];
  if (unknown.length) throw new Error(`--only: no scenario ${unknown.join(', ')} (there are ${SUITE.map((s) => s.id).join(', ')})`);
  fs.mkdirSync(outDir, { recursive: true });
  const started = new Date();
  const runs: ScenarioRun[] = [];
  for (const s of SUITE) {
    const json = path.join(outDir, `${s.id}.json`);
    if ((only && !only.includes(s.id)) || (quick && !s.quick)) {
      // Not run this time: an earlier result in the output directory is shown, marked as such.
      try {
        const data = JSON.parse(fs.readFileSync(json, 'utf8')) as { command?: string; date?: string; rounds?: unknown[] };
        const rounds = data.rounds;
        runs.push({ def: s, command: data.command ?? '(unknown)', data: rounds ? rounds[medianRun(s.id, rounds)] : data, earlier: data.date ?? 'unknown date', ...(rounds ? { rounds } : {}) });
      } catch { /* none */ }
      continue;
    }
    const script = path.join(here, s.script + EXT);
    fs.rmSync(json, { force: true });
    if (!fs.existsSync(script)) {
      runs.push({ def: s, command: `node dist-tools/tools/bench/${s.script}.js`, error: `${path.relative(repoRoot, script)} is missing` });
      continue;
    }
    const rounds: unknown[] = [];
    let command = '';
    let seconds = 0;
    let code = 0;
    let error: string | undefined;
    for (let round = 1; round <= repeat; round++) {
      const name = repeat > 1 ? `${s.id}.run${round}` : s.id;
      const file = path.join(outDir, `${name}.json`);
      const args = [...(quick ? override(s.args, s.quick!) : s.args), '--json', path.relative(repoRoot, file)];
      command = `node dist-tools/tools/bench/${s.script}.js ${args.join(' ')}`;
      process.stdout.write(`\n=== ${s.id}${repeat > 1 ? ` (run ${round} of ${repeat})` : ''}: ${s.title}\n$ ${command}\n`);
      if (repeat > 1) fs.rmSync(file, { force: true });
      const t0 = Date.now();
      const exit = await runChild(script, args, path.join(outDir, `${name}.log`));
      seconds += (Date.now() - t0) / 1000;
      code = Math.max(code, exit);
      try {
        rounds.push(JSON.parse(fs.readFileSync(file, 'utf8')));
      } catch {
        rounds.push(null); // counted as a run that met no target
        error ??= `no result (exit ${exit}); see ${path.relative(repoRoot, path.join(outDir, `${name}.log`))}`;
      }
    }
    if (repeat > 1) {
      command = command.replace(/ --json \S+$/, ` --json ${path.relative(repoRoot, path.join(outDir, `${s.id}.runN.json`))}`);
      // The scenario's file holds every run (their own files go), so a later `--only` shows them all again.
      if (rounds.some((r) => r !== null)) fs.writeFileSync(json, JSON.stringify({ command, date: started.toISOString(), rounds }, null, 1));
      for (let round = 1; round <= repeat; round++) fs.rmSync(path.join(outDir, `${s.id}.run${round}.json`), { force: true });
    }
    const data = rounds[medianRun(s.id, rounds)] ?? undefined;
    runs.push({
      def: s, command, seconds, code, ...(data ? { data } : {}), ...(repeat > 1 && data ? { rounds } : {}),
      ...(error && !data ? { error } : {}),
    });
  }
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`;
  const svgFile = path.join(outDir, 'ratios.svg');
  fs.writeFileSync(svgFile, renderSvg(runs, machine));
  // The quick suite (CI) fails when Storm's CPU per delivery in (b) regressed against raw `ws`'s.
  const b = quick ? runs.find((r) => r.def.id === 'b' && !r.earlier && r.data) : undefined;
  const cpuChecks = b ? checkManyRoomsCpu((b.rounds ?? [b.data]) as Array<FanoutOutput | null>) : [];
  const md = renderMarkdown(runs, { started, machine, quick, svg: path.relative(repoRoot, svgFile), outDir: path.relative(repoRoot, outDir) }) +
    (cpuChecks.length ? `\n${describeCpuChecks(cpuChecks)}\n` : '');
  fs.writeFileSync(path.join(outDir, 'summary.md'), md);
  process.stdout.write(`\n${md}\n`);
  if (!noWrite && !quick) {
    const file = path.join(repoRoot, 'BENCHMARKS.md');
    const text = fs.readFileSync(file, 'utf8');
    const begin = '<!-- suite:begin -->';
    const end = '<!-- suite:end -->';
    const a = text.indexOf(begin);
    const b = text.indexOf(end);
    const block = `${begin}\n${md}\n${end}`;
    const next = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + end.length) : text.replace(/\n## /, `\n${block}\n\n## `);
    fs.writeFileSync(file, next);
    process.stdout.write(`wrote the suite section of BENCHMARKS.md and ${path.relative(repoRoot, svgFile)}\n`);
  }
  process.exitCode = runs.some((r) => !r.earlier && (r.error || r.code !== 0)) || cpuChecks.some((c) => !c.ok) ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e);
    process.exit(2);
  });
}
