import { createWriteStream } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build, decodeFromCompressedBase64 } from "hdr-histogram-js";
import { freePortRange, type LocalCluster, startLocalCluster } from "../../deploy/local_cluster.ts";
import { shareOf, Worker } from "../bench/fanout_procs.ts";
import { checkHistory } from "../checker/check.ts";
import { loadHistoryFiles } from "../checker/load.ts";
import { loadJournalFromPostgres } from "../checker/postgres_journal.ts";
import { formatReport } from "../checker/report.ts";
import { type ClientFleet, startClientProcesses } from "../chaos/clients.ts";
import { FaultInjector } from "../chaos/injector.ts";
import { lagging } from "../chaos/run.ts";
import { DayIncidents } from "./day_incidents.ts";
import type { DayResult } from "./day_result.ts";
import { RECORDING_DM, setUpDay, tokenSigner } from "./day_setup.ts";
import type { DaySample, DayWorkerInit } from "./day_worker.ts";
import type { DayOptions } from "./day_options.ts";
import { dmName, hugeSize, Population } from "./population.ts";
import { renderPostmortem } from "./postmortem.ts";
import { renderReport } from "./report_html.ts";
import { phaseAt, planDay } from "./schedule.ts";
import { judgeDay } from "./slo.ts";
import { measureImpacts, type Point } from "./timeline.ts";

const EXT = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
const WORKER = join(dirname(fileURLToPath(import.meta.url)), `day_worker${EXT}`);
const newHist = () => build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 2 });

/** Runs one Storm Day; returns the result (the report files are written into `o.out`). */
export async function runDay(o: DayOptions, log: (line: string) => void): Promise<DayResult> {
  const plan = planDay({ rampS: o.rampS, steadyS: o.steadyS, leaseMs: o.leaseMs });
  const pop = new Population({ users: o.connections, groups: o.groups });
  await rm(join(o.out, "histories"), { recursive: true, force: true });
  await mkdir(join(o.out, "histories"), { recursive: true });
  let cluster: LocalCluster | undefined;
  let fleet: ClientFleet | undefined;
  let injector: FaultInjector | undefined;
  const workers: Worker[] = [];
  let stopped = false;
  // The nodes' own logs (stderr), for whoever writes the post-mortem's root cause.
  const clusterLog = createWriteStream(join(o.out, "cluster.log"));
  const onSignal = () => {
    stopped = true;
    log("interrupted: tearing down");
  };
  // bench/fanout_procs.ts (the Worker's module) exits at once on a signal, which would leave the
  // cluster's PostgreSQL (daemonized by pg_ctl) behind: here a signal ends the day and tears down.
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.removeAllListeners(sig);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    cluster = await startLocalCluster({
      nodes: o.nodes, basePort: await freePortRange(o.nodes), workers: 1, leaseMs: o.leaseMs, args: ["--rate-limits", "off"],
      log: (line) => clusterLog.write(`${new Date().toISOString()} ${line}\n`),
    });
    const c = cluster;
    log(`cluster up: ${c.nodes.length} nodes on ${c.nodes.map((n) => n.port).join(", ")}; PostgreSQL ${c.postgresUrl}; Hazelcast ${c.hazelcast}`);
    // From here on a node that exits unasked (a lease lost on a starved machine) is restarted.
    const adminToken = await tokenSigner(c.secret)("stormday-ops", "admin");
    const sampled = [...pop.sampledRooms(), dmName(...RECORDING_DM)];
    injector = new FaultInjector({ cluster: c, channels: sampled, adminToken, log: (l) => log(`injector: ${l}`), record: () => {} });
    const inj = injector;
    const setupStart = Date.now();
    const setup = await setUpDay({ pop, bases: c.nodes.map((n) => n.url), secret: c.secret, perGroup: o.recordersPerGroup, concurrency: 32, log });
    const setupMs = Date.now() - setupStart;
    log(`setup: ${setup.rooms} rooms and ${setup.dms} DMs in ${(setupMs / 1000).toFixed(1)} s`);

    const urls = c.nodes.map((n) => `ws://127.0.0.1:${n.port}/ws`);
    fleet = startClientProcesses(setup.recorders.map((group, g) => ({
      clients: group.map((r) => ({ name: r.name, token: r.token })), urls, channels: group[0]!.channels, ratePerSec: 2, window: 4,
      pubTimeoutMs: 5_000, staleMs: 3_000, file: join(o.out, "histories", `group-${g}.jsonl`),
    })), (line) => log(`recorders: ${line}`));
    for (let i = 0, first = 0; i < o.loadProcs; i++) {
      const count = shareOf(o.connections, o.loadProcs, i);
      const w = new Worker(WORKER, `day${i}`);
      workers.push(w);
      const cfg: DayWorkerInit = {
        index: i, users: o.connections, groups: o.groups, first, count, ports: c.nodes.map((n) => n.port), localAddress: `127.0.0.${2 + i}`,
        jwtSecret: c.secret, rampMs: plan.rampMs, churnPerSec: o.churn, readyTimeoutMs: 15_000, pubTimeoutMs: 10_000,
      };
      await w.request("init", { cfg }, 300_000);
      first += count;
    }
    const all = (cmd: string, extra: object = {}) => Promise.all(workers.map((w) => w.request(cmd, extra, 30_000)));
    let factor = 1;
    const setRate = async (f: number) => {
      factor = f;
      await all("rate", { perSec: (o.rate * f) / workers.length });
    };

    const t0 = Date.now();
    await setRate(1);
    await all("connect");
    const incidents = new DayIncidents({
      cluster: c, injector: inj, t0, log,
      load: {
        setRateFactor: setRate,
        reconnect: async (share) => (await all("reconnect", { share })).reduce((n, r: { dropped: number }) => n + r.dropped, 0),
      },
    });
    const running = incidents.run(plan, () => stopped || inj.fatal !== undefined);

    const points: Point[] = [];
    const ackAll = newHist();
    const deliverAll = newHist();
    const sum = { attempts: 0, ready: 0, gaps: 0, dups: 0 };
    const errors: Record<string, number> = {};
    let rampDoneMs: number | undefined;
    let peakOpen = 0;
    let publishing = true;
    let drainUntil = Number.POSITIVE_INFINITY;
    for (let tick = 1; !stopped; tick++) {
      // A late sample (a starved machine) skips the seconds it missed: each point stays one second.
      tick = Math.max(tick, Math.ceil((Date.now() - t0) / 1000));
      await sleep(t0 + tick * 1000 - Date.now());
      const samples = (await all("sample")).map((r: { sample: DaySample }) => r.sample);
      const ack = newHist();
      const del = newHist();
      const p: Point = {
        t: Date.now() - t0, open: 0, attempts: 0, ready: 0, failed: 0, dropped: 0, churned: 0, pubs: 0, acks: 0, pubErrors: 0, delivered: 0, replayed: 0, gaps: 0, dups: 0,
        ackP99: 0, deliverP99: 0, nodesUp: inj.upNodes().length,
      };
      for (const s of samples) {
        for (const k of ["open", "attempts", "ready", "failed", "dropped", "churned", "pubs", "acks", "pubErrors", "delivered", "replayed", "gaps", "dups"] as const) p[k] += s[k];
        for (const [kind, n] of Object.entries(s.errors)) errors[kind] = (errors[kind] ?? 0) + n;
        ack.add(decodeFromCompressedBase64(s.ackHist));
        del.add(decodeFromCompressedBase64(s.deliverHist));
      }
      ackAll.add(ack);
      deliverAll.add(del);
      p.ackP99 = ack.totalCount > 0 ? ack.getValueAtPercentile(99) / 1000 : 0;
      p.deliverP99 = del.totalCount > 0 ? del.getValueAtPercentile(99) / 1000 : 0;
      points.push(p);
      sum.attempts += p.attempts;
      sum.ready += p.ready;
      sum.gaps += p.gaps;
      sum.dups += p.dups;
      peakOpen = Math.max(peakOpen, p.open);
      // 99 %: churn keeps a few connections between two sockets at any time.
      if (rampDoneMs === undefined && p.open >= 0.99 * o.connections) rampDoneMs = p.t;
      if (tick % 5 === 0) {
        log(`T+${(p.t / 1000).toFixed(0)} s ${phaseAt(plan, p.t)}: ${p.open} ready, nodes up ${p.nodesUp}/${o.nodes}, ${p.pubs} pub/s (x${factor}), ${p.acks} ack/s, ` +
          `${p.delivered} deliveries/s, ack p99 ${p.ackP99.toFixed(0)} ms, deliver p99 ${p.deliverP99.toFixed(0)} ms, dropped ${p.dropped}, failed ${p.failed}, pub errors ${p.pubErrors}`);
      }
      if (publishing && p.t >= plan.endMs) {
        publishing = false;
        await all("stop");
        await Promise.race([fleet.stopPublishing(), sleep(5_000)]);
        drainUntil = Date.now() + o.drainS * 1000;
        log("publishing stopped; healing and draining");
      }
      if (!publishing) {
        const f = fleet.progress();
        if (Date.now() > drainUntil || (f.every((x) => x.outstanding === 0) && lagging(f).length === 0)) break;
      }
    }
    if (stopped) throw new Error("interrupted: the cluster is torn down, no report is written");
    await running;
    await inj.heal();
    // Measured before finish(): closing a client abandons what it still has outstanding.
    const drained = fleet.progress();
    const final = await fleet.finish(15_000);
    const behind = lagging(drained);
    const unacked = drained.reduce((n, x) => n + x.outstanding, 0);
    log(`recorders: ${final.reduce((n, x) => n + x.acked, 0)} acked, ${unacked} unacked, ${behind.length} subscription(s) behind` +
      `${behind.slice(0, 5).map((b) => ` ${b.client} ${b.ch} ${b.lastSeq}/${b.target}`).join(",")}`);
    const journal = await loadJournalFromPostgres(c.postgresUrl, { channels: setup.checked });
    const events = await loadHistoryFiles([join(o.out, "histories")]);
    const check = checkHistory(events, journal, { channels: setup.checked });
    await writeFile(join(o.out, "checker-report.txt"), `${formatReport(check)}\n`);

    const impacts = measureImpacts(plan, points, incidents.injected(), o.slo.ackP99Ms);
    const totals = {
      attempts: sum.attempts, ready: sum.ready, gaps: sum.gaps, dups: sum.dups,
      ackP99: ackAll.totalCount > 0 ? ackAll.getValueAtPercentile(99) / 1000 : 0,
      deliverP99: deliverAll.totalCount > 0 ? deliverAll.getValueAtPercentile(99) / 1000 : 0,
      violations: check.violations.length, checkedAcked: check.stats.acked, unacked, behind: behind.length,
    };
    const verdicts = judgeDay(totals, points, o.slo);
    return {
      command: o.command, date: new Date(t0).toISOString(), quick: o.quick,
      machine: `${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}; ` +
        "nodes, load generator, PostgreSQL and Hazelcast share these cores",
      scale: {
        connections: o.connections, nodes: o.nodes, loadProcs: o.loadProcs, leaseMs: o.leaseMs, hugeRooms: pop.hugeRooms,
        hugeSize: hugeSize(o.connections, pop.hugeRooms), smallRooms: setup.rooms - pop.hugeRooms, dms: setup.dms, rate: o.rate,
        recordingClients: setup.recorders.flat().length, note: o.note,
      },
      errors, setupMs, ...(rampDoneMs === undefined ? {} : { rampDoneMs }), peakOpen, plan, points, impacts, totals, verdicts,
      anomalies: inj.anomalies.map((a) => `T+${((a.at - t0) / 1000).toFixed(1)} s ${a.node}: ${a.what}`),
      ok: verdicts.every((v) => !v.hard || v.ok),
    };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    fleet?.kill();
    await Promise.all(workers.map((w) => w.stop()));
    await injector?.close(30_000);
    await cluster?.stop().catch((err: unknown) => log(`cluster stop failed: ${String(err)}`));
    await new Promise<void>((r) => clusterLog.end(() => r()));
  }
}

/** Writes the HTML report, the post-mortem skeleton and the JSON result into `out`. */
export async function writeDay(r: DayResult, out: string): Promise<void> {
  await writeFile(join(out, "report.html"), renderReport(r));
  await writeFile(join(out, "postmortem.md"), renderPostmortem(r));
  await writeFile(join(out, "result.json"), `${JSON.stringify(r)}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}
