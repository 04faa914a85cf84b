// Fan-out benchmarks, Storm measured against baselines (raw `ws` batched = practical ceiling, raw
// unbatched = naive, Socket.IO and Centrifugo = peers; Centrifugo built by deploy/centrifugo.sh,
// skipped when Go is absent) in the same run on the same machine:
//  (a) one huge room:   --channels 1 --per-conn 1 --subscribers 1000           (the defaults)
//  (b) many rooms:      --channels 10000 --per-conn 10 --subscribers 10000     (10 subscribers each)
//  (e) cluster fan-out: --nodes 3: Storm runs as 3 cluster nodes (PostgreSQL + Hazelcast), the
//                       subscribers spread over them; the baselines stay single processes.
//
//   node dist-tools/tools/bench/fanout_bench.js [--subscribers 1000] [--channels 1] [--per-conn 1] [--nodes 1]
//        [--duration 10] [--warmup 2] [--rate N|max] [--window 256] [--size 100] [--sample 1]
//        [--load-procs 2] [--pub-procs 1] [--ramp 0] [--targets raw-batched,raw,socketio,centrifugo,storm,storm-compact]
//        [--json out.json] [--storm-bin dist/bin/storm.js] [--storm-workers N] [--max-rss-mb 4096]
//        [--server-node-args "--cpu-prof --cpu-prof-dir=DIR"] [--storm-postgres]
//        [--url ws://127.0.0.1:8080[,ws://127.0.0.1:8081] --server-pid PID[,PID] --targets storm]
//        (--url: drive a Storm that is already running, with dev tokens on; nothing is started)
//   (or through the load generator CLI: node dist-tools/tools/bin/storm-load.js fanout|rooms|cluster ...)
//
// Per target: the server runs as a child process (own process group); subscribers are opened by
// --load-procs child load processes bound to 127.0.0.2, 127.0.0.3, ... at --ramp connections/s
// (0 = as fast as they go); --pub-procs publisher processes own disjoint sets of channels and
// publish round-robin over them (--rate is the total offered rate). After --warmup s of publishing,
// deliveries and latencies are measured for --duration s; then the publishers stop and every
// subscriber must drain to the last published seq of each of its channels. A progress line goes to
// stderr every second.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, decodeFromCompressedBase64 } from 'hdr-histogram-js';
import { isStorm, protoOf, sleep, type PubReport, type SubReport, type TargetName, type WorkerInit } from './fanout_common.ts';
import { parseFanoutArgs, type FanoutOpts } from './fanout_options.ts';
import {
  BENCH_DIR, cpuSeconds, EXT, machineCpu, makeTempDir, removeTempDir, REPO_ROOT, rssBytes, shareOf, threadCpuSeconds, threadsPercent, Worker,
} from './fanout_procs.ts';
import { centSecrets, external, startCluster, startSingle, type Servers } from './fanout_servers.ts';
import { centrifugoBinary } from './baselines/centrifugo.ts';
import { cpuLines, cpuUsPer, ratios, ratioTable, table, type Ratio, type TargetResult } from './fanout_report.ts';

const MB = 1024 * 1024;

function emptyResult(t: TargetName, o: FanoutOpts): TargetResult {
  return {
    target: t, subscribers: o.subscribers, channels: o.channels, perConn: o.perConn, nodes: isStorm(t) ? o.nodes : 1,
    connected: 0, connectMs: 0, connectPerSec: 0, offeredRate: o.rate || 'max',
    pubSentPerSec: 0, pubAckedPerSec: 0, deliveredPerSec: 0, expectedDeliveredPerSec: 0,
    latencyMs: { count: 0, p50: NaN, p99: NaN, p999: NaN, max: NaN, mean: NaN },
    serverRssMB: { idle: 0, connected: 0, peakDuringRun: 0, end: 0, perConnKB: 0 },
    cpuPercent: { server: 0, infra: 0, load: 0, machine: 0, other: 0 },
    violations: { gaps: 0, missing: 0, reorders: 0, badFrames: 0, errors: 0, closed: 0, undelivered: 0, lagging: 0, pubErrors: 0, windowStalls: 0 },
  };
}

/** Prints one progress line per second to stderr from the load processes' counters. */
function progress(t: TargetName, o: FanoutOpts, workers: Worker[]): () => void {
  const t0 = Date.now();
  let last = { at: t0, delivered: 0, connected: 0 };
  let busy = false;
  // A load process too busy to answer within 2 s counts with its last report, not as zero.
  const lastReport: any[] = [];
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    Promise.all(workers.map((w) => w.request('progress', {}, 2_000).catch(() => undefined))).then((reps) => {
      busy = false;
      const now = Date.now();
      let connected = 0; let failures = 0; let delivered = 0; let acked = 0; let errors = 0; let closed = 0;
      for (const [i, rep] of reps.entries()) {
        const r = (lastReport[i] = rep ?? lastReport[i]);
        if (!r) continue;
        if (i >= o.pubProcs) { connected += r.connected; failures += r.failures; delivered += r.delivered; }
        acked += r.acked; errors += r.errors; closed += r.closed;
      }
      const dt = (now - last.at) / 1000;
      process.stderr.write(`  [${t}] ${((now - t0) / 1000).toFixed(0).padStart(3)} s  connected ${connected}/${o.subscribers}` +
        ` (+${Math.round((connected - last.connected) / dt)}/s, ${failures} failed)  acked ${acked}` +
        `  delivered ${Math.round((delivered - last.delivered) / dt).toLocaleString('en-US')}/s  errors ${errors}  closed ${closed}\n`);
      last = { at: now, delivered, connected };
    }, () => { busy = false; });
  }, 1000);
  return () => clearInterval(timer);
}

async function runTarget(t: TargetName, o: FanoutOpts, log: (s: string) => void): Promise<TargetResult> {
  const r = emptyResult(t, o);
  if (isStorm(t) && !fs.existsSync(o.stormBin)) {
    r.skipped = `${path.relative(REPO_ROOT, o.stormBin)} not found (build Storm first)`;
    return r;
  }
  if (t === 'centrifugo' && !o.url) {
    const found = centrifugoBinary();
    if ('skip' in found) {
      r.skipped = found.skip;
      return r;
    }
  }
  const tmp = makeTempDir(`storm-bench-${t}-`);
  let servers: Servers | undefined;
  const workers: Worker[] = [];
  let stopProgress = () => {};
  try {
    servers = o.url ? external(o) : isStorm(t) && o.nodes > 1 ? await startCluster(o, log) : await startSingle(t, o, tmp);
    const srv = servers;
    const workerScript = path.join(BENCH_DIR, 'fanout_load_worker' + EXT);
    const runId = `b${Date.now().toString(36)}`;
    const base: Omit<WorkerInit, 'role' | 'count' | 'firstIndex' | 'localAddress' | 'pubIndex'> = {
      proto: protoOf(t), host: '127.0.0.1', ports: srv.ports, channels: o.channels, perConn: o.perConn,
      connections: o.subscribers, ramp: o.ramp / o.loadProcs, pubProcs: o.pubProcs, rate: o.rate / o.pubProcs,
      window: o.window, size: o.size, sample: o.sample, runId, ...(srv.guardPgid ? { guardPgid: srv.guardPgid } : {}),
      ...(t === 'centrifugo' ? { centrifugo: centSecrets } : {}),
    };
    const pubs: Worker[] = [];
    for (let i = 0; i < o.pubProcs; i++) {
      const w = new Worker(workerScript, `pub${i}`);
      workers.push(w);
      pubs.push(w);
    }
    const tp = Date.now();
    await Promise.all(pubs.map((w, i) =>
      w.request('init', { cfg: { ...base, role: 'pub', count: 1, firstIndex: 0, pubIndex: i } }, 300_000)));
    if (o.channels > 1) log(`  ${o.channels} channels created by ${o.pubProcs} publishers in ${Date.now() - tp} ms`);
    await sleep(500); // server is up and has served the publishers' set-up: that is "idle"
    r.serverRssMB.idle = rssBytes(srv.pids()).rss / MB;
    const subWorkers: Worker[] = [];
    const inits: Promise<any>[] = [];
    for (let i = 0, first = 0; i < o.loadProcs; i++) {
      const count = shareOf(o.subscribers, o.loadProcs, i);
      if (count === 0) continue;
      const w = new Worker(workerScript, `sub${i}`);
      workers.push(w);
      subWorkers.push(w);
      const cfg: WorkerInit = { ...base, role: 'sub', count, firstIndex: first, pubIndex: 0, localAddress: `127.0.0.${2 + i}` };
      inits.push(w.request('init', { cfg }, 330_000));
      first += count;
    }
    stopProgress = progress(t, o, workers);
    const t0 = Date.now();
    const initReplies = await Promise.all(inits);
    r.connected = initReplies.reduce((a, m) => a + m.connected, 0);
    r.connectMs = Date.now() - t0;
    r.connectPerSec = r.connected / (r.connectMs / 1000);
    const failed = initReplies.find((m) => m.failures > 0);
    log(`  ${r.connected}/${o.subscribers} subscribers connected and subscribed to ${o.perConn} channel(s) each in ${r.connectMs} ms` +
      (failed ? ` (${o.subscribers - r.connected} failed, first error: ${failed.error})` : ''));
    if (r.connected === 0) throw new Error(`no subscriber could connect: ${failed?.error}`);
    r.serverRssMB.connected = rssBytes(srv.pids()).rss / MB;
    r.serverRssMB.perConnKB = ((r.serverRssMB.connected - r.serverRssMB.idle) * 1024) / r.connected;

    await Promise.all(pubs.map((w) => w.request('start', {}, 10_000)));
    await sleep(o.warmup * 1000);
    const loadPids = workers.map((w) => w.pid);
    const serverPids = srv.pids();
    const cpuS0 = cpuSeconds(serverPids);
    const cpuI0 = cpuSeconds(srv.infraPids());
    const cpuM0 = machineCpu();
    const threads0 = serverPids.map((p) => threadCpuSeconds(p));
    const perLoad0 = loadPids.map((p) => cpuSeconds([p]));
    const tm0 = process.hrtime.bigint();
    await Promise.all(workers.map((w) => w.request('measure', {}, 10_000)));
    const end = Date.now() + o.duration * 1000;
    while (Date.now() < end) {
      await sleep(Math.min(500, Math.max(0, end - Date.now())));
      const rss = rssBytes(srv.pids());
      r.serverRssMB.peakDuringRun = Math.max(r.serverRssMB.peakDuringRun, rss.rss / MB);
      srv.check();
      if (rss.rss / MB > o.maxRssMB) { r.aborted = `server RSS above ${o.maxRssMB} MB`; break; }
    }
    const reps = await Promise.all(workers.map((w) => w.request('stop-measure', {}, 30_000)));
    const pubReps = reps.slice(0, o.pubProcs) as PubReport[];
    const subReps = reps.slice(o.pubProcs) as SubReport[];
    const tm1 = process.hrtime.bigint();
    const wallS = Number(tm1 - tm0) / 1e9;
    r.measuredMonotonicS = { from: Number(tm0) / 1e9, to: Number(tm1) / 1e9 };
    r.cpuPercent.server = ((cpuSeconds(srv.pids()) - cpuS0) / wallS) * 100;
    r.cpuPercent.infra = ((cpuSeconds(srv.infraPids()) - cpuI0) / wallS) * 100;
    const perLoad = loadPids.map((p, i) => ((cpuSeconds([p]) - perLoad0[i]!) / wallS) * 100);
    r.cpuPercent.load = perLoad.reduce((a, b) => a + b, 0);
    const cpuM1 = machineCpu();
    r.cpuPercent.machine = ((cpuM1.busy - cpuM0.busy) / (cpuM1.total - cpuM0.total)) * os.cpus().length * 100;
    r.cpuPercent.other = Math.max(0, r.cpuPercent.machine - r.cpuPercent.server - r.cpuPercent.infra - r.cpuPercent.load);
    const serverThreads = serverPids.map((p, i) => threadsPercent(p, threads0[i]!, threadCpuSeconds(p), wallS)).filter((t) => t.main > 0);
    r.serverRssMB.end = rssBytes(srv.pids()).rss / MB;

    for (const p of pubReps) {
      r.pubSentPerSec += p.sent / (p.elapsedUs / 1e6);
      r.pubAckedPerSec += p.acked / (p.elapsedUs / 1e6);
      r.violations.pubErrors += p.errors;
      r.violations.windowStalls += p.windowStalls;
    }
    r.expectedDeliveredPerSec = (r.pubAckedPerSec * r.connected * o.perConn) / o.channels;
    const hist = build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
    const wire = { messages: 0, bytes: 0, delivered: 0 };
    for (const s of subReps) {
      wire.messages += s.wireMessages;
      wire.bytes += s.wireBytes;
      wire.delivered += s.delivered;
      r.deliveredPerSec += s.delivered / (s.elapsedUs / 1e6);
      hist.add(decodeFromCompressedBase64(s.hist));
      const v = r.violations;
      v.gaps += s.gaps; v.missing += s.missing; v.reorders += s.reorders; v.badFrames += s.badFrames;
      v.errors += s.errors; v.closed += s.closed;
    }
    r.wire = { bytesPerDelivery: wire.bytes / wire.delivered, deliveriesPerMessage: wire.delivered / wire.messages };
    const us = (percent: number) => cpuUsPer(percent, r.deliveredPerSec);
    r.cpuDetail = {
      serverThreads, subscriberProcs: perLoad.slice(o.pubProcs), publisherProcs: perLoad.slice(0, o.pubProcs),
      usPerDelivery: { machine: us(r.cpuPercent.machine), server: us(r.cpuPercent.server + r.cpuPercent.infra), load: us(r.cpuPercent.load) },
    };
    const ms = (us: number) => us / 1000;
    r.latencyMs = {
      count: hist.totalCount, p50: ms(hist.getValueAtPercentile(50)), p99: ms(hist.getValueAtPercentile(99)),
      p999: ms(hist.getValueAtPercentile(99.9)), max: ms(hist.maxValue), mean: ms(hist.mean),
    };

    const stops = await Promise.all(pubs.map((w) => w.request('stop', {}, 10_000)));
    const lastSeqs = new Array<number>(o.channels).fill(0);
    for (const st of stops) for (let c = 0; c < o.channels; c++) lastSeqs[c] = Math.max(lastSeqs[c]!, st.lastSeqs[c] ?? 0);
    const drains = await Promise.all(subWorkers.map((w) => w.request('drain', { lastSeqs, timeoutMs: 5000 }, 15_000)));
    for (const d of drains) { r.violations.undelivered += d.undelivered; r.violations.lagging += d.lagging; }
    const sentTotal = stops.reduce((a, st) => a + st.sent, 0);
    const ackedTotal = stops.reduce((a, st) => a + st.acked, 0);
    log(`  published ${sentTotal} (acked ${ackedTotal}); ` +
      `drain: ${r.violations.lagging} subscribers behind by ${r.violations.undelivered} msgs`);
  } catch (e) {
    r.error = String((e as Error)?.message ?? e);
  } finally {
    stopProgress();
    await Promise.all(workers.map((w) => w.stop()));
    await servers?.stop();
    removeTempDir(tmp);
  }
  return r;
}

export interface FanoutOutput {
  command: string;
  date: string;
  node: string;
  machine: { cores: number; cpu: string | undefined; memGiB: number };
  caveat: string;
  params: Omit<FanoutOpts, 'rate'> & { rate: number | 'max' };
  results: TargetResult[];
  ratios: Ratio[];
}

/** Runs the fan-out benchmark with command-line style arguments; writes --json when given. */
export async function runFanoutBench(argv: string[], log: (s: string) => void, command: string): Promise<FanoutOutput> {
  const o = parseFanoutArgs(argv);
  const perChannel = (o.subscribers * o.perConn) / o.channels;
  log(`fan-out benchmark: ${o.channels} channel(s) x ${perChannel} subscribers (${o.subscribers} connections in ${o.perConn} channel(s) each)` +
    `${o.nodes > 1 ? `, Storm on ${o.nodes} cluster nodes` : ''}, rate ${o.rate || 'max (window ' + o.window + ' per publisher)'} msg/s, ` +
    `body ${o.size} B, warm-up ${o.warmup} s, measure ${o.duration} s, ${o.loadProcs} subscriber load procs + ${o.pubProcs} publisher proc(s)`);
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
  log(cpuLines(results));
  log('(CPU% = % of one core during the measured window; infra = PostgreSQL + Hazelcast of a Storm cluster;');
  log(' other = every other process on the machine, incl. this driver;');
  log(' KB/conn = server RSS growth from idle to all subscribers connected, n/a when GC/the embedded store shrank it;');
  log(' OVERLOADED = delivered < 95% or > 102% of offered rate x subscribers (below: it did not keep up; above: it drained a backlog):' +
    ' its latency is queueing behind the offered load)');
  log('');
  const rs = ratios(results);
  log(ratioTable(rs));
  const out: FanoutOutput = {
    command, date: new Date().toISOString(), node: process.version,
    machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, memGiB: os.totalmem() / 2 ** 30 },
    caveat: 'server, load generator (and database) share the same cores',
    params: { ...o, rate: o.rate || 'max' }, results, ratios: rs,
  };
  if (o.json) {
    fs.writeFileSync(o.json, JSON.stringify(out, null, 2) + '\n');
    log(`\nwrote ${o.json}`);
  }
  return out;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const cmd = `node ${path.relative(process.cwd(), fileURLToPath(import.meta.url))} ${argv.join(' ')}`.trim();
  const out = await runFanoutBench(argv, (s) => process.stdout.write(s + '\n'), cmd);
  process.exitCode = out.results.some((r) => r.error) ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e);
    process.exit(2);
  });
}
