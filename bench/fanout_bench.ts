// Fan-out benchmark, scenario (a): ONE channel fanned out to N WebSocket subscribers, Storm measured
// against baselines (raw `ws` batched = practical ceiling, raw unbatched = naive, Socket.IO = peer)
// in the same run on the same machine.
//
//   node dist/bench/fanout_bench.js [--subscribers 1000] [--duration 10] [--warmup 2]
//        [--rate N|max] [--window 256] [--size 100] [--sample 1] [--load-procs 2]
//        [--targets raw-batched,raw,socketio,storm] [--json out.json]
//        [--storm-bin dist/bin/storm.js] [--storm-workers N] [--max-rss-mb 4096]
//        [--server-node-args "--cpu-prof --cpu-prof-dir=DIR"]   (node flags for the Storm server)
//   (or: npx tsx bench/fanout_bench.ts ...)
//
// Per target: the server runs as a child process (own process group); subscribers are opened by
// --load-procs child load processes bound to 127.0.0.2, 127.0.0.3, ...; one publisher runs in its
// own child process. After --warmup s of publishing, deliveries and latencies are measured for
// --duration s; then the publisher stops and subscribers must drain to the last published seq.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, decodeFromCompressedBase64 } from 'hdr-histogram-js';
import {
  ALL_TARGETS, protoOf, sleep, type PubReport, type SubReport, type TargetName, type WorkerInit,
} from './fanout_common.ts';
import {
  cpuSeconds, freePort, machineCpu, makeTempDir, procTree, removeTempDir, rssBytes, startServer, waitHttp, Worker, type ServerProc,
} from './fanout_procs.ts';
import { ratios, ratioTable, table, type TargetResult } from './fanout_report.ts';

const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, EXT === '.ts' ? '..' : '../..');

function parseArgs(argv: string[]) {
  const get = (name: string, def: string): string => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : def;
  };
  const num = (name: string, def: number): number => {
    const v = Number(get(name, String(def)));
    if (!Number.isFinite(v) || v < 0) throw new Error(`--${name}: not a number`);
    return v;
  };
  const rateArg = get('rate', '100');
  const targets = get('targets', ALL_TARGETS.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const t of targets) if (!ALL_TARGETS.includes(t as TargetName)) throw new Error(`unknown target ${t}`);
  return {
    subscribers: Math.max(1, Math.floor(num('subscribers', 1000))),
    duration: Math.min(num('duration', 10), 300),
    warmup: Math.min(num('warmup', 2), 60),
    rate: rateArg === 'max' ? 0 : num('rate', 100),
    window: Math.max(1, Math.floor(num('window', 256))),
    size: Math.min(Math.floor(num('size', 100)), 16 * 1024),
    sample: Math.max(1, Math.floor(num('sample', 1))),
    loadProcs: Math.min(Math.max(1, Math.floor(num('load-procs', 2))), 8),
    targets: targets as TargetName[],
    json: get('json', ''),
    stormBin: path.resolve(get('storm-bin', path.join(repoRoot, 'dist/bin/storm.js'))),
    stormWorkers: get('storm-workers', ''),
    maxRssMB: num('max-rss-mb', 4096),
    /** Extra node flags for the Storm server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it. */
    serverNodeArgs: get('server-node-args', '').split(' ').filter(Boolean),
  };
}
type Opts = ReturnType<typeof parseArgs>;

const MB = 1024 * 1024;

function serverCommand(t: TargetName, o: Opts, port: number, dataDir: string): { args: string[]; env: NodeJS.ProcessEnv } {
  const env = { ...process.env };
  if (t === 'storm') {
    if (o.stormWorkers) env['STORM_WORKERS'] = o.stormWorkers;
    return { args: [...o.serverNodeArgs, o.stormBin, 'serve', '--port', String(port), '--data-dir', dataDir], env };
  }
  const script = path.join(here, 'baselines', (t === 'socketio' ? 'socketio_server' : 'raw_ws_server') + EXT);
  const args = [...process.execArgv, script, '--port', String(port)];
  if (t === 'raw-batched') args.push('--batch');
  return { args, env };
}

function emptyResult(t: TargetName, o: Opts): TargetResult {
  return {
    target: t, subscribers: o.subscribers, connected: 0, connectMs: 0, offeredRate: o.rate || 'max',
    pubSentPerSec: 0, pubAckedPerSec: 0, deliveredPerSec: 0, expectedDeliveredPerSec: 0,
    latencyMs: { count: 0, p50: NaN, p99: NaN, p999: NaN, max: NaN, mean: NaN },
    serverRssMB: { idle: 0, connected: 0, peakDuringRun: 0, end: 0, perConnKB: 0 },
    cpuPercent: { server: 0, load: 0, machine: 0, other: 0 },
    violations: { gaps: 0, missing: 0, reorders: 0, badFrames: 0, errors: 0, closed: 0, undelivered: 0, lagging: 0, pubErrors: 0, windowStalls: 0 },
  };
}

async function runTarget(t: TargetName, o: Opts, log: (s: string) => void): Promise<TargetResult> {
  const r = emptyResult(t, o);
  if (t === 'storm' && !fs.existsSync(o.stormBin)) {
    r.skipped = `${path.relative(repoRoot, o.stormBin)} not found (build Storm first)`;
    return r;
  }
  const tmp = makeTempDir(`storm-bench-${t}-`);
  const port = await freePort();
  const { args, env } = serverCommand(t, o, port, path.join(tmp, 'data'));
  let server: ServerProc | undefined;
  const workers: Worker[] = [];
  try {
    server = startServer(process.execPath, args, env, path.join(tmp, 'server.log'));
    await waitHttp(port, 20_000, server);

    const workerScript = path.join(here, 'fanout_load_worker' + EXT);
    const runId = `b${Date.now().toString(36)}`;
    const base: Omit<WorkerInit, 'role' | 'count' | 'firstIndex' | 'localAddress'> = {
      proto: protoOf(t), host: '127.0.0.1', port, rate: o.rate, window: o.window, size: o.size,
      sample: o.sample, runId, guardPgid: server.pid,
    };
    const pub = new Worker(workerScript, 'pub');
    workers.push(pub);
    await pub.request('init', { cfg: { ...base, role: 'pub', count: 1, firstIndex: 0 } }, 30_000);
    await sleep(500); // server is up and has served the publisher's set-up: that is "idle"
    r.serverRssMB.idle = rssBytes(procTree(server.pid)).rss / MB;
    const subWorkers: Worker[] = [];
    const inits: Promise<any>[] = [];
    for (let i = 0, first = 0; i < o.loadProcs; i++) {
      const count = Math.floor(o.subscribers / o.loadProcs) + (i < o.subscribers % o.loadProcs ? 1 : 0);
      if (count === 0) continue;
      const w = new Worker(workerScript, `sub${i}`);
      workers.push(w);
      subWorkers.push(w);
      const cfg: WorkerInit = { ...base, role: 'sub', count, firstIndex: first, localAddress: `127.0.0.${2 + i}` };
      inits.push(w.request('init', { cfg }, 90_000));
      first += count;
    }
    const t0 = Date.now();
    const initReplies = await Promise.all(inits);
    r.connected = initReplies.reduce((a, m) => a + m.connected, 0);
    r.connectMs = Date.now() - t0;
    const failed = initReplies.find((m) => m.failures > 0);
    log(`  ${r.connected}/${o.subscribers} subscribers connected in ${Date.now() - t0} ms` +
      (failed ? ` (${o.subscribers - r.connected} failed, first error: ${failed.error})` : ''));
    if (r.connected === 0) throw new Error(`no subscriber could connect: ${failed?.error}`);
    const tree = () => procTree(server!.pid);
    r.serverRssMB.connected = rssBytes(tree()).rss / MB;
    r.serverRssMB.perConnKB = ((r.serverRssMB.connected - r.serverRssMB.idle) * 1024) / r.connected;

    await pub.request('start', {}, 10_000);
    await sleep(o.warmup * 1000);
    const loadPids = workers.map((w) => w.pid);
    const cpuS0 = cpuSeconds(tree());
    const cpuL0 = cpuSeconds(loadPids);
    const cpuM0 = machineCpu();
    const tm0 = process.hrtime.bigint();
    await Promise.all(workers.map((w) => w.request('measure', {}, 10_000)));
    const end = Date.now() + o.duration * 1000;
    while (Date.now() < end) {
      await sleep(Math.min(500, Math.max(0, end - Date.now())));
      const rss = rssBytes(tree());
      r.serverRssMB.peakDuringRun = Math.max(r.serverRssMB.peakDuringRun, rss.rss / MB);
      if (server.exited()) throw new Error(`server exited during the run:\n${server.tail()}`);
      if (rss.rss / MB > o.maxRssMB) { r.aborted = `server RSS above ${o.maxRssMB} MB`; break; }
    }
    const [pubRep, ...subReps] = (await Promise.all(workers.map((w) => w.request('stop-measure', {}, 30_000)))) as
      [PubReport, ...SubReport[]];
    const wallS = Number(process.hrtime.bigint() - tm0) / 1e9;
    r.cpuPercent.server = ((cpuSeconds(tree()) - cpuS0) / wallS) * 100;
    r.cpuPercent.load = ((cpuSeconds(loadPids) - cpuL0) / wallS) * 100;
    const cpuM1 = machineCpu();
    r.cpuPercent.machine = ((cpuM1.busy - cpuM0.busy) / (cpuM1.total - cpuM0.total)) * os.cpus().length * 100;
    r.cpuPercent.other = Math.max(0, r.cpuPercent.machine - r.cpuPercent.server - r.cpuPercent.load);
    r.serverRssMB.end = rssBytes(tree()).rss / MB;

    r.pubSentPerSec = pubRep.sent / (pubRep.elapsedUs / 1e6);
    r.pubAckedPerSec = pubRep.acked / (pubRep.elapsedUs / 1e6);
    r.expectedDeliveredPerSec = r.pubAckedPerSec * r.connected;
    const hist = build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
    for (const s of subReps) {
      r.deliveredPerSec += s.delivered / (s.elapsedUs / 1e6);
      hist.add(decodeFromCompressedBase64(s.hist));
      const v = r.violations;
      v.gaps += s.gaps; v.missing += s.missing; v.reorders += s.reorders; v.badFrames += s.badFrames;
      v.errors += s.errors; v.closed += s.closed;
    }
    const ms = (us: number) => us / 1000;
    r.latencyMs = {
      count: hist.totalCount, p50: ms(hist.getValueAtPercentile(50)), p99: ms(hist.getValueAtPercentile(99)),
      p999: ms(hist.getValueAtPercentile(99.9)), max: ms(hist.maxValue), mean: ms(hist.mean),
    };

    const stop = await pub.request('stop', {}, 10_000);
    r.violations.pubErrors = pubRep.errors;
    r.violations.windowStalls = pubRep.windowStalls;
    const drains = await Promise.all(subWorkers.map((w) => w.request('drain', { lastSeq: stop.lastSeq, timeoutMs: 5000 }, 15_000)));
    for (const d of drains) { r.violations.undelivered += d.undelivered; r.violations.lagging += d.lagging; }
    log(`  published ${stop.sent} (acked ${stop.acked}, last seq ${stop.lastSeq}); ` +
      `drain: ${r.violations.lagging} subscribers behind by ${r.violations.undelivered} msgs`);
  } catch (e) {
    r.error = String((e as Error)?.message ?? e);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await server?.stop();
    removeTempDir(tmp);
  }
  return r;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const log = (s: string) => process.stdout.write(s + '\n');
  const cmd = `node ${path.relative(process.cwd(), fileURLToPath(import.meta.url))} ${process.argv.slice(2).join(' ')}`.trim();
  log(`fan-out benchmark: 1 channel -> ${o.subscribers} subscribers, rate ${o.rate || 'max (window ' + o.window + ')'} msg/s, ` +
    `body ${o.size} B, warm-up ${o.warmup} s, measure ${o.duration} s, ${o.loadProcs} subscriber load procs + 1 publisher proc`);
  log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
    `node ${process.version}; server, load generator (and database) share these cores`);
  const results: TargetResult[] = [];
  for (const t of o.targets) {
    log(`[${t}]`);
    const r = await runTarget(t, o, log);
    if (r.skipped) log(`  skipped: ${r.skipped}`);
    if (r.error) log(`  FAILED: ${r.error}`);
    results.push(r);
    await sleep(1000); // let the previous target's sockets and memory settle
  }
  log('');
  log(table(results));
  log('(CPU% = % of one core during the measured window; other = every other process on the machine, incl. this driver;');
  log(' KB/conn = server RSS growth from idle to all subscribers connected, n/a when GC/the embedded store shrank it;');
  log(' OVERLOADED = delivered < 95% of offered rate x subscribers: its latency is queueing behind the offered load)');
  log('');
  const rs = ratios(results);
  log(ratioTable(rs));
  if (o.json) {
    const out = {
      command: cmd, date: new Date().toISOString(), node: process.version,
      machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, memGiB: os.totalmem() / 2 ** 30 },
      caveat: 'server, load generator (and database) share the same cores',
      params: { ...o, rate: o.rate || 'max' }, results, ratios: rs,
    };
    fs.writeFileSync(o.json, JSON.stringify(out, null, 2) + '\n');
    log(`\nwrote ${o.json}`);
  }
  const bad = results.some((r) => r.error) ? 1 : 0;
  process.exitCode = bad;
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
