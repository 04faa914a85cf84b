// Child-process plumbing for the fan-out benchmark: servers in their own process group, load
// workers over IPC, /proc sampling (RSS, CPU) and guaranteed cleanup (no orphans).
import { fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from './fanout_common.ts';

/** The folder of the bench's scripts (tools/bench/ from source, dist-tools/tools/bench/ built), their extension, and the repository. */
export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
export const REPO_ROOT = path.resolve(BENCH_DIR, EXT === '.ts' ? '../..' : '../../..');

const live = new Set<ChildProcess>();
const groups = new Set<number>(); // pids of children started with detached:true (own group)

const tmpDirs = new Set<string>();

function killAllNow(): void {
  for (const pid of groups) { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } }
  for (const c of live) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
  for (const d of tmpDirs) { try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* best effort */ } }
}

/** A temporary directory removed by removeTempDir or, at the latest, when this process exits. */
export function makeTempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.add(d);
  return d;
}

export function removeTempDir(d: string): void {
  fs.rmSync(d, { recursive: true, force: true });
  tmpDirs.delete(d);
}
process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => { killAllNow(); process.exit(130); });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const p = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(p));
    });
  });
}

export interface ServerProc {
  pid: number;
  child: ChildProcess;
  exited: () => boolean;
  tail: () => string;
  /** SIGTERM to the process group, SIGKILL after `graceMs` (default 3000). */
  stop: (graceMs?: number) => Promise<void>;
}

/** Start a server in its own process group; stdout/stderr go to `logFile`. */
export function startServer(cmd: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): ServerProc {
  const out = fs.openSync(logFile, 'w');
  const child = spawn(cmd, args, { env, stdio: ['pipe', out, out], detached: true });
  fs.closeSync(out);
  const pid = child.pid!;
  live.add(child);
  groups.add(pid);
  let exited = false;
  const done = new Promise<void>((r) => child.once('exit', () => { exited = true; live.delete(child); r(); }));
  child.stdin?.on('error', () => {});
  return {
    pid,
    child,
    exited: () => exited,
    tail: () => {
      try { return fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n'); } catch { return ''; }
    },
    stop: async (graceMs = 3000) => {
      child.stdin?.end();
      try { process.kill(-pid, 'SIGTERM'); } catch { /* gone */ }
      await Promise.race([done, sleep(graceMs)]);
      try { process.kill(-pid, 'SIGKILL'); } catch { /* whole group already gone */ }
      groups.delete(pid);
      await Promise.race([done, sleep(1000)]);
    },
  };
}

/**
 * Wait until the server answers HTTP on the port with anything but 503: a Storm node binds its
 * port before opening its store and answers 503 until it is ready; the baselines answer at once.
 */
export async function waitHttp(port: number, timeoutMs: number, srv: ServerProc): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (srv.exited()) throw new Error(`server exited during start-up:\n${srv.tail()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status !== 503) return;
    } catch { /* not listening yet */ }
    await sleep(100);
  }
  throw new Error(`server not answering on port ${port} after ${timeoutMs} ms:\n${srv.tail()}`);
}

export class Worker {
  readonly child: ChildProcess;
  private waiters = new Map<string, (m: any) => void>();
  private exitErr: Error | undefined;
  constructor(script: string, name: string) {
    this.child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: process.execArgv });
    live.add(this.child);
    this.child.on('message', (m: any) => {
      const w = this.waiters.get(m?.re);
      if (w) { this.waiters.delete(m.re); w(m); }
    });
    this.child.on('exit', (code) => {
      live.delete(this.child);
      this.exitErr = new Error(`load worker ${name} exited (code ${code})`);
      for (const w of this.waiters.values()) w({ ok: false, error: this.exitErr.message });
      this.waiters.clear();
    });
  }
  get pid(): number { return this.child.pid!; }

  request(cmd: string, extra: object, timeoutMs: number): Promise<any> {
    if (this.exitErr) return Promise.reject(this.exitErr);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { this.waiters.delete(cmd); reject(new Error(`worker: ${cmd} timed out`)); }, timeoutMs);
      this.waiters.set(cmd, (m) => {
        clearTimeout(t);
        if (m.ok) resolve(m);
        else reject(new Error(`worker ${cmd}: ${m.error}`));
      });
      this.child.send({ cmd, ...extra });
    });
  }

  async stop(): Promise<void> {
    if (this.exitErr) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    try { this.child.send({ cmd: 'exit' }); } catch { /* channel closed */ }
    await Promise.race([exited, sleep(2000)]);
    if (!this.exitErr) this.child.kill('SIGKILL');
  }
}

// ---- /proc sampling ----
const CLK_TCK = 100;

/** Parent pid and CPU clock ticks (user + system) from a `/proc/.../stat` file, if it is still there. */
function readStat(pid: number, file = `/proc/${pid}/stat`): { ppid: number; ticks: number } | undefined {
  try {
    const s = fs.readFileSync(file, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
  } catch { return undefined; }
}

/** CPU seconds of each thread of `pid` so far, by thread id (the main thread's id is `pid`). */
export function threadCpuSeconds(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[] = [];
  try { tids = fs.readdirSync(`/proc/${pid}/task`); } catch { return out; }
  for (const tid of tids) {
    const st = readStat(pid, `/proc/${pid}/task/${tid}/stat`);
    if (st) out.set(Number(tid), st.ticks / CLK_TCK); // else the thread ended
  }
  return out;
}

/** Where one process's CPU went between two `threadCpuSeconds` samples: % of one core. */
export interface ThreadsPercent {
  /** The main thread (for Storm: the edge, every socket). */
  main: number;
  /** Every other thread that used at least 0.5 % (worker threads, V8's, libuv's), busiest first. */
  others: number[];
}

export function threadsPercent(pid: number, before: Map<number, number>, after: Map<number, number>, wallS: number): ThreadsPercent {
  const pct = (tid: number) => (((after.get(tid) ?? 0) - (before.get(tid) ?? 0)) / wallS) * 100;
  const others = [...after.keys()].filter((tid) => tid !== pid).map(pct).filter((p) => p >= 0.5).sort((a, b) => b - a);
  return { main: pct(pid), others };
}

/** pid and all its descendants (servers may fork workers). */
export function procTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of fs.readdirSync('/proc')) {
    const pid = Number(d);
    if (!Number.isInteger(pid)) continue;
    const st = readStat(pid);
    if (!st) continue;
    const l = children.get(st.ppid) ?? [];
    l.push(pid);
    children.set(st.ppid, l);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/** Sum of VmRSS and of VmHWM (peak) over the pids, in bytes. */
export function rssBytes(pids: number[]): { rss: number; peak: number } {
  let rss = 0;
  let peak = 0;
  for (const pid of pids) {
    try {
      const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      rss += Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0) * 1024;
      peak += Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0) * 1024;
    } catch { /* exited */ }
  }
  return { rss, peak };
}

/** CPU seconds (user+sys) used so far by the pids. */
export function cpuSeconds(pids: number[]): number {
  let t = 0;
  for (const pid of pids) t += readStat(pid)?.ticks ?? 0;
  return t / CLK_TCK;
}

/** Whole-machine CPU time so far, in seconds summed over cores: busy and total (from /proc/stat). */
export function machineCpu(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = line.reduce((a, b) => a + b, 0);
  const idle = (line[3] ?? 0) + (line[4] ?? 0); // idle + iowait
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
}

/** Load process i's share of `total` spread over `procs` processes: the first `total % procs` take one more. */
export function shareOf(total: number, procs: number, i: number): number {
  return Math.floor(total / procs) + (i < total % procs ? 1 : 0);
}
