// One target of the connections benchmark: start its servers, connect from the load processes,
// hold, and measure memory, CPU and connect latency on the way.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { build, decodeFromCompressedBase64 } from 'hdr-histogram-js';
import { centrifugoBinary } from './baselines/centrifugo.ts';
import { sleep, type ConnsProgress, type ConnsTarget, type ConnsWorkerInit, type ConnsWorkerReport } from './conns_common.ts';
import type { ConnsOptions } from './conns_options.ts';
import { emptyResult, fmt, type ConnsResult } from './conns_report.ts';
import { heapBytes, startServers, startServices, type Services } from './conns_servers.ts';
import { BENCH_DIR, cpuSeconds, EXT, machineCpu, makeTempDir, procTree, removeTempDir, rssBytes, shareOf, Worker, type ServerProc } from './fanout_procs.ts';

const MB = 1024 * 1024;

function cpuWindow() {
  const m0 = machineCpu();
  const t0 = process.hrtime.bigint();
  return (serverS: number, loadS: number, servicesS: number) => {
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const m1 = machineCpu();
    const machine = ((m1.busy - m0.busy) / (m1.total - m0.total)) * os.cpus().length * 100;
    const pct = (s: number) => (s / wall) * 100;
    return {
      server: pct(serverS), load: pct(loadS), services: pct(servicesS),
      other: Math.max(0, machine - pct(serverS) - pct(loadS) - pct(servicesS)),
    };
  };
}

export async function runTarget(t: ConnsTarget, o: ConnsOptions, log: (s: string) => void): Promise<ConnsResult> {
  const r = emptyResult(t, o);
  if (t === 'centrifugo') {
    const found = centrifugoBinary();
    if ('skip' in found) return { ...r, skipped: found.skip };
  }
  const tmp = makeTempDir(`storm-conns-${t}-`);
  const secret = randomBytes(32).toString('hex');
  let services: Services | undefined;
  let servers: ServerProc[] = [];
  const workers: Worker[] = [];
  const progressLine = (s: string) => process.stderr.write(`  [${t}] ${s}\n`);
  let lastSample = 0;
  try {
    if (t === 'storm') services = await startServices(o, log);
    const started = await startServers(t, o, tmp, services, secret, log);
    servers = started.servers;
    const ports = started.ports;
    const serverPids = () => servers.flatMap((s) => procTree(s.pid));
    // PostgreSQL backends come and go: a finished backend's CPU moves to the postmaster's
    // children time (cutime + cstime), so count that too or the sum would go down.
    const postgresCpu = () => {
      if (!services) return 0;
      let childTicks = 0;
      try {
        const st = fs.readFileSync(`/proc/${services.pgPid}/stat`, 'utf8');
        const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
        childTicks = Number(f[13]) + Number(f[14]);
      } catch { /* gone */ }
      return cpuSeconds(procTree(services.pgPid)) + childTicks / 100;
    };
    const hazelcastCpu = () => cpuSeconds([services?.hzPid?.()].filter((p): p is number => p !== undefined));
    const servicesCpu = () => postgresCpu() + hazelcastCpu();
    const alive = () => {
      const dead = servers.findIndex((s) => s.exited());
      if (dead >= 0) throw new Error(`server ${dead + 1} exited:\n${servers[dead]!.tail()}`);
    };

    const workerScript = path.join(BENCH_DIR, 'conns_load_worker' + EXT);
    const inits: Promise<unknown>[] = [];
    for (let i = 0, first = 0; i < o.loadProcs; i++) {
      const count = shareOf(o.connections, o.loadProcs, i);
      if (count === 0) continue;
      const w = new Worker(workerScript, `conns${i}`);
      workers.push(w);
      const cfg: ConnsWorkerInit = {
        target: t, ports, count, firstIndex: first, localAddress: `127.0.0.${2 + i}`, rate: o.ramp / o.loadProcs,
        concurrency: o.concurrency, readyTimeoutMs: o.readyTimeout * 1000, jwtSecret: t === 'storm' || t === 'centrifugo' ? secret : undefined,
        guardPgids: servers.map((s) => s.pid),
      };
      inits.push(w.request('init', { cfg }, 120_000));
      first += count;
    }
    await Promise.all(inits);
    await sleep(o.settle * 1000);
    const rssOf = (pids: number[]) => rssBytes(pids).rss / MB;
    r.serverRssMB.before = rssOf(serverPids());
    const heapBefore = t === 'storm' ? await heapBytes(ports) : undefined;
    const hzPid0 = services?.hzPid?.();
    const pgBefore = services ? rssOf(procTree(services.pgPid)) : 0;
    const hzBefore = hzPid0 ? rssOf([hzPid0]) : 0;
    log(`  servers up: ${o.nodes} x ${t} on ports ${ports.join(', ')}, RSS ${fmt(r.serverRssMB.before, 1)} MB in all; connecting ${fmt(o.connections)} from ${workers.length} load processes` +
      (o.ramp > 0 ? ` at ${fmt(o.ramp)}/s` : ` (${o.concurrency} handshakes in flight per process)`));

    // ---- connect ----
    const loadPids = workers.map((w) => w.pid);
    let cpu = cpuWindow();
    let cpuS0 = cpuSeconds(serverPids());
    let cpuL0 = cpuSeconds(loadPids);
    let cpuV0 = servicesCpu();
    const cpuPg0 = postgresCpu();
    const cpuHz0 = hazelcastCpu();
    const tm0 = process.hrtime.bigint();
    await Promise.all(workers.map((w) => w.request('connect', {}, 10_000)));
    const deadline = Date.now() + o.connectTimeout * 1000;
    let last = 0;
    let lastAt = Date.now();
    for (;;) {
      await sleep(1000);
      alive();
      const ps = (await Promise.all(workers.map((w) => w.request('progress', {}, 30_000)))) as ConnsProgress[];
      const sum = ps.reduce((a, p) => ({ connected: a.connected + p.connected, failed: a.failed + p.failed, closed: a.closed + p.closed }), { connected: 0, failed: 0, closed: 0 });
      const now = Date.now();
      const rss = rssOf(serverPids());
      progressLine(`${fmt(sum.connected)}/${fmt(o.connections)} connected, ${fmt(((sum.connected - last) * 1000) / (now - lastAt))}/s, ` +
        `failed ${fmt(sum.failed)}, closed ${fmt(sum.closed)}, server RSS ${fmt(rss)} MB`);
      last = sum.connected;
      lastAt = now;
      lastSample = sum.connected;
      if (ps.every((p) => p.done)) break;
      if (now > deadline) { r.aborted = `connecting took longer than --connect-timeout ${o.connectTimeout} s`; break; }
    }
    const serverConnectS = cpuSeconds(serverPids()) - cpuS0;
    r.cpuPercent.connect = cpu(serverConnectS, cpuSeconds(loadPids) - cpuL0, servicesCpu() - cpuV0);
    r.measuredMonotonicS = { from: Number(tm0) / 1e9, to: Number(process.hrtime.bigint()) / 1e9 };
    const perConnMs = (s: number) => (lastSample > 0 ? (s * 1000) / lastSample : 0);
    r.cpuMsPerConn = { server: perConnMs(serverConnectS), postgres: perConnMs(postgresCpu() - cpuPg0), hazelcast: perConnMs(hazelcastCpu() - cpuHz0) };
    await sleep(o.settle * 1000);
    alive();
    let reps = (await Promise.all(workers.map((w) => w.request('report', {}, 30_000)))) as ConnsWorkerReport[];
    r.connected = reps.reduce((a, p) => a + p.connected, 0);
    r.failed = reps.reduce((a, p) => a + p.failed, 0);
    r.portsSkipped = reps.reduce((a, p) => a + p.portsSkipped, 0);
    const perNode = servers.map((s) => rssOf(procTree(s.pid)));
    r.serverRssMB.perNode = perNode;
    r.serverRssMB.connected = perNode.reduce((a, b) => a + b, 0);
    r.kbPerConn = r.connected > 0 ? ((r.serverRssMB.connected - r.serverRssMB.before) * 1024) / r.connected : 0;
    if (heapBefore !== undefined) {
      const heapAfter = await heapBytes(ports);
      if (heapAfter !== undefined) {
        r.heapMB = { usedBefore: heapBefore.used / MB, usedConnected: heapAfter.used / MB, committedBefore: heapBefore.committed / MB, committedConnected: heapAfter.committed / MB };
        r.heapKbPerConn = r.connected > 0 ? (heapAfter.used - heapBefore.used) / 1024 / r.connected : 0;
      }
    }
    if (services) {
      const hzPid1 = services.hzPid?.();
      r.servicesRssMB = {
        postgresBefore: pgBefore, postgresConnected: rssOf(procTree(services.pgPid)),
        hazelcastBefore: hzBefore, hazelcastConnected: hzPid1 ? rssOf([hzPid1]) : 0,
      };
    }
    r.connectSeconds = Math.max(...reps.map((p) => p.connectUs)) / 1e6;
    r.connectPerSec = r.connectSeconds > 0 ? r.connected / r.connectSeconds : 0;
    const hist = build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
    for (const p of reps) hist.add(decodeFromCompressedBase64(p.hist));
    const ms = (us: number) => us / 1000;
    r.connectLatencyMs = { p50: ms(hist.getValueAtPercentile(50)), p90: ms(hist.getValueAtPercentile(90)), p99: ms(hist.getValueAtPercentile(99)), max: ms(hist.maxValue) };
    log(`  ${fmt(r.connected)}/${fmt(o.connections)} connected in ${fmt(r.connectSeconds, 1)} s (${fmt(r.connectPerSec)}/s), ` +
      `p50 ${fmt(r.connectLatencyMs.p50, 1)} ms, p99 ${fmt(r.connectLatencyMs.p99, 1)} ms; failed ${fmt(r.failed)}; ` +
      `server RSS ${fmt(r.serverRssMB.before, 1)} -> ${fmt(r.serverRssMB.connected, 1)} MB = ${fmt(r.kbPerConn, 2)} KB/conn` +
      (r.heapKbPerConn !== undefined ? ` (V8 heap ${fmt(r.heapKbPerConn, 2)} KB/conn)` : ''));

    // ---- hold ----
    cpu = cpuWindow();
    cpuS0 = cpuSeconds(serverPids());
    cpuL0 = cpuSeconds(loadPids);
    cpuV0 = servicesCpu();
    const holdEnd = Date.now() + o.hold * 1000;
    while (Date.now() < holdEnd) {
      await sleep(Math.min(1000, holdEnd - Date.now()));
      alive();
      const ps = (await Promise.all(workers.map((w) => w.request('progress', {}, 30_000)))) as ConnsProgress[];
      const closed = ps.reduce((a, p) => a + p.closed, 0);
      progressLine(`holding ${fmt(r.connected - closed)} (closed ${fmt(closed)}), ${fmt(Math.max(0, holdEnd - Date.now()) / 1000)} s left`);
    }
    r.cpuPercent.hold = cpu(cpuSeconds(serverPids()) - cpuS0, cpuSeconds(loadPids) - cpuL0, servicesCpu() - cpuV0);
    alive();
    reps = (await Promise.all(workers.map((w) => w.request('report', {}, 30_000)))) as ConnsWorkerReport[];
    r.held = reps.reduce((a, p) => a + p.open, 0);
    r.closedDuringRun = reps.reduce((a, p) => a + p.closed, 0);
    r.serverRssMB.endOfHold = rssOf(serverPids());
    r.kbPerConnIdle = r.held > 0 ? ((r.serverRssMB.endOfHold - r.serverRssMB.before) * 1024) / r.held : 0;
    if (r.heapMB && heapBefore) {
      const h = await heapBytes(ports);
      if (h) {
        r.heapMB.usedEndOfHold = h.used / MB;
        r.heapMB.committedEndOfHold = h.committed / MB;
        r.heapCommittedKbPerConnIdle = r.held > 0 ? (h.committed - heapBefore.committed) / 1024 / r.held : 0;
      }
    }
    r.loadRssMB = reps.reduce((a, p) => a + p.rssBytes, 0) / MB;
    for (const p of reps) {
      for (const [k, v] of Object.entries(p.errors)) r.errors[k] = (r.errors[k] ?? 0) + v;
      for (const [k, v] of Object.entries(p.samples)) r.errorSamples[k] ??= v;
    }
    log(`  held ${fmt(r.held)} at the end of a ${o.hold} s hold (closed ${fmt(r.closedDuringRun)}); server RSS ${fmt(r.serverRssMB.endOfHold, 1)} MB = ${fmt(r.kbPerConnIdle, 2)} KB/conn` +
      (r.heapCommittedKbPerConnIdle !== undefined ? ` (V8 heap committed ${fmt(r.heapCommittedKbPerConnIdle, 2)} KB/conn)` : '') + '; ' +
      `errors ${JSON.stringify(r.errors)}`);
  } catch (e) {
    r.error = String((e as Error)?.message ?? e);
    r.connectedBeforeFailure = Math.max(r.connected, lastSample);
  } finally {
    // Servers first: the side that closes first keeps TIME_WAIT, and the load side's source ports
    // must be free for the next target.
    await Promise.all(servers.map((s) => s.stop(o.stopGrace * 1000)));
    await Promise.all(workers.map((w) => w.stop()));
    await services?.stop();
    removeTempDir(tmp);
  }
  return r;
}
