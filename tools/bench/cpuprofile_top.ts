// The functions that took a thread's CPU, from V8 CPU profiles (`--cpu-prof`, one file per thread),
// optionally within a benchmark's measured window and per event (e.g. µs per publish).
//
//   node dist-tools/tools/bench/cpuprofile_top.js DIR_OR_FILES... [--window run.json] [--per N] [--top 15]
//
// --window: a fan-out driver's --json output; only samples inside its first target's measured
// window count (profiles and the driver share CLOCK_MONOTONIC). --per: divide by N events (the
// publishes of that window) to give µs per event. Self time, by function and file:line.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface Profile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ThreadTop {
  /** Busy µs in the window (everything but `(idle)`). */
  busyUs: number;
  windowS: number;
  top: Array<{ fn: string; us: number }>;
}

/** Self time per function of one profile, within [fromS, toS] on the profile's clock. */
export function topOf(p: Profile, fromS = -Infinity, toS = Infinity, n = 15): ThreadTop {
  const name = new Map(p.nodes.map((x) => {
    const c = x.callFrame;
    return [x.id, `${c.functionName || '(anonymous)'} ${c.url.split('/').slice(-2).join('/')}${c.url ? `:${c.lineNumber + 1}` : ''}`.trim()];
  }));
  const self = new Map<string, number>();
  let t = p.startTime;
  let busyUs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    if (t / 1e6 < fromS || t / 1e6 > toS) continue;
    const key = name.get(p.samples[i]!) ?? '?';
    if (key.startsWith('(idle)')) continue;
    busyUs += dt;
    self.set(key, (self.get(key) ?? 0) + dt);
  }
  const windowS = (Math.min(toS, p.endTime / 1e6) - Math.max(fromS, p.startTime / 1e6));
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([fn, us]) => ({ fn, us }));
  return { busyUs, windowS, top };
}

function main(argv: string[]): void {
  const files: string[] = [];
  let window: string | undefined;
  let per = 0;
  let n = 15;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--window') window = argv[++i];
    else if (a === '--per') per = Number(argv[++i]);
    else if (a === '--top') n = Number(argv[++i]);
    else if (fs.statSync(a).isDirectory()) files.push(...fs.readdirSync(a).filter((f) => f.endsWith('.cpuprofile')).sort().map((f) => path.join(a, f)));
    else files.push(a);
  }
  let from = -Infinity;
  let to = Infinity;
  if (window) {
    const w = (JSON.parse(fs.readFileSync(window, 'utf8')) as { results: Array<{ measuredMonotonicS?: { from: number; to: number } }> }).results[0]?.measuredMonotonicS;
    if (!w) throw new Error(`${window}: no measured window (a result of an older driver?)`);
    ({ from, to } = w);
  }
  for (const f of files) {
    const r = topOf(JSON.parse(fs.readFileSync(f, 'utf8')) as Profile, from, to, n);
    const perUs = (us: number) => (per > 0 ? `  ${(us / per).toFixed(2).padStart(7)} µs/event` : '');
    console.log(`${path.basename(f)}: busy ${(r.busyUs / 1e4 / r.windowS).toFixed(1)} % of a core over ${r.windowS.toFixed(1)} s${perUs(r.busyUs)}`);
    for (const x of r.top) console.log(`  ${(x.us / 1000).toFixed(0).padStart(7)} ms ${((100 * x.us) / r.busyUs).toFixed(1).padStart(5)} %${perUs(x.us)}  ${x.fn}`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
