import type { CheckResult } from "../checker/check.ts";
import type { Anomaly, InjectedFault } from "./injector.ts";
import { type FailoverSample, type Percentiles, percentiles, type Silence } from "./failover.ts";
import { FAULT_KINDS, type FaultKind } from "./nemesis.ts";

export interface Lagging {
  client: string;
  ch: string;
  lastSeq: number;
  target: number;
}

export interface RunFacts {
  seed: number;
  nodes: number;
  channels: number;
  clients: number;
  leaseMs: number;
  requestedFaults: number;
  /** Wall time of the whole run, and of the fault phase. */
  elapsedMs: number;
  faultPhaseMs: number;
  injected: readonly InjectedFault[];
  anomalies: readonly Anomaly[];
  failover: readonly FailoverSample[];
  check: CheckResult;
  /** Subscribers that had not received every channel's last acked seq when the drain wait ended. */
  lagging: readonly Lagging[];
  drainMs: number;
  /** Publishes still unacknowledged when the drain wait ended (retried all along with their cid). */
  unackedAtEnd: number;
  /** Per channel, the longest time without a commit during the fault phase. */
  silences: readonly Silence[];
  out: string;
}

export interface ChaosSummary {
  ok: boolean;
  /** Why the run failed, one line each (empty when ok). */
  failures: string[];
  seed: number;
  nodes: number;
  channels: number;
  clients: number;
  leaseMs: number;
  elapsedMs: number;
  faultPhaseMs: number;
  faults: { requested: number; injected: number; byKind: Record<FaultKind, number>; failed: string[] };
  anomalies: Anomaly[];
  messages: { published: number; acked: number; errors: number; unackedCommitted: number; lostUnacked: number; delivered: number; streams: number; journalRows: number };
  /** Kill and pause together (the headline), then each kind. */
  failover: Percentiles & { unrecovered: number; byKind: Record<string, Percentiles & { unrecovered: number }> };
  violations: { total: number; byKind: Record<string, number> };
  drain: { ms: number; unacked: number; lagging: Lagging[] };
  /** Per channel, the longest time without a commit from the start of the faults to the end of the drain (any cause). */
  silences: Silence[];
  out: string;
}

/**
 * The run's verdict and figures. It fails on any violation, a fault not injected, no ack at all,
 * and on liveness failures once the cluster is healed: a publish never acknowledged, a subscriber
 * that never caught up, a paused node that did not rejoin in place, a node that did not exit 0 after SIGTERM.
 */
export function summarize(f: RunFacts): ChaosSummary {
  const ok = f.injected.filter((x) => x.ok);
  const byKind = Object.fromEntries(FAULT_KINDS.map((k) => [k, ok.filter((x) => x.kind === k).length])) as Record<FaultKind, number>;
  const failover = (kinds: readonly FaultKind[]) => {
    const samples = f.failover.filter((s) => kinds.includes(s.kind));
    return { ...percentiles(samples.map((s) => s.ms)), unrecovered: samples.filter((s) => s.ms === null).length };
  };
  const s = f.check.stats;
  const violationsByKind: Record<string, number> = {};
  for (const v of f.check.violations) violationsByKind[v.kind] = (violationsByKind[v.kind] ?? 0) + 1;

  const failures: string[] = [];
  if (f.check.violations.length > 0) failures.push(`${f.check.violations.length} violation(s) of the contract`);
  if (ok.length < f.requestedFaults) failures.push(`only ${ok.length} of ${f.requestedFaults} faults were injected`);
  if (s.acked === 0) failures.push("no publish was acknowledged");
  if (f.unackedAtEnd > 0) failures.push(`${f.unackedAtEnd} publish(es) never acknowledged, though retried with their cid until the end of the drain on a healed cluster`);
  if (f.lagging.length > 0) failures.push(`${f.lagging.length} subscription(s) never caught up with their channel's last acked seq`);
  // A pause past the lease must end in a rejoin in place (a new incarnation, the process and its
  // client sockets kept); a node that dies on its own is only reported.
  const bad = f.anomalies.filter((a) => a.kind === "pause");
  if (bad.length > 0) failures.push(`${bad.length} node(s) did not rejoin in place after a pause past their lease`);
  // A graceful stop (SIGTERM) must drain and exit 0 in time, as Kubernetes' grace period demands.
  const stuck = f.anomalies.filter((a) => a.kind === "stop");
  if (stuck.length > 0) failures.push(`${stuck.length} node(s) did not drain and exit 0 after SIGTERM`);

  return {
    ok: failures.length === 0,
    failures,
    seed: f.seed,
    nodes: f.nodes,
    channels: f.channels,
    clients: f.clients,
    leaseMs: f.leaseMs,
    elapsedMs: f.elapsedMs,
    faultPhaseMs: f.faultPhaseMs,
    faults: {
      requested: f.requestedFaults,
      injected: ok.length,
      byKind,
      failed: f.injected.filter((x) => !x.ok).map((x) => `#${x.index} ${x.kind}: ${x.outcome}`),
    },
    anomalies: [...f.anomalies],
    messages: {
      published: s.published, acked: s.acked, errors: s.errors, unackedCommitted: s.unackedCommitted, lostUnacked: s.lostUnacked,
      delivered: s.delivered, streams: s.streams, journalRows: s.journalRows,
    },
    failover: { ...failover(["kill", "pause"]), byKind: Object.fromEntries(FAULT_KINDS.map((k) => [k, failover([k])])) },
    violations: { total: f.check.violations.length, byKind: violationsByKind },
    drain: { ms: f.drainMs, unacked: f.unackedAtEnd, lagging: [...f.lagging] },
    silences: [...f.silences],
    out: f.out,
  };
}

/** The summary for people, a few lines. */
export function formatSummary(s: ChaosSummary): string {
  const ms = (v: number | null) => (v === null ? "-" : `${v} ms`);
  const pct = (p: Percentiles & { unrecovered: number }) =>
    p.n === 0 && p.unrecovered === 0 ? "none" : `p50 ${ms(p.p50)}, p99 ${ms(p.p99)}, max ${ms(p.max)} (${p.n} channel(s)${p.unrecovered > 0 ? `, ${p.unrecovered} never recovered` : ""})`;
  const m = s.messages;
  const kinds = FAULT_KINDS.map((k) => `${k} ${s.faults.byKind[k]}`).join(", ");
  const lines = [
    `storm chaos: ${s.ok ? "PASS" : "FAIL"}  seed ${s.seed}, ${s.nodes} nodes, ${s.channels} channels, ${s.clients} clients, lease ${s.leaseMs} ms, ${(s.elapsedMs / 1000).toFixed(0)} s (faults phase ${(s.faultPhaseMs / 1000).toFixed(0)} s)`,
    `faults:    ${s.faults.injected}/${s.faults.requested} injected (${kinds})${s.faults.failed.length > 0 ? `; not injected: ${s.faults.failed.join("; ")}` : ""}`,
    `anomalies: ${s.anomalies.length === 0 ? "none" : s.anomalies.map((a) => `${a.node}: ${a.what}`).join("; ")}`,
    `messages:  ${m.published} published, ${m.acked} acked, ${m.delivered} delivered in ${m.streams} streams; ${m.errors} client errors; ` +
      `unacked: ${m.unackedCommitted} committed, ${m.lostUnacked} not; journal ${m.journalRows} rows`,
    `failover:  kill+pause ${pct(s.failover)}`,
    ...FAULT_KINDS.map((k) => `           ${k.padEnd(8)}${pct(s.failover.byKind[k]!)}`),
    `silence:   longest time without a commit (faults and drain), per channel: ${s.silences.map((x) => `${x.ch} ${x.ms} ms`).join(", ")}`,
    `drain:     ${s.drain.ms} ms; ${s.drain.unacked} publish(es) never acked; ${s.drain.lagging.length === 0 ? "every subscriber caught up" : `${s.drain.lagging.length} lagging: ${s.drain.lagging.slice(0, 8).map((l) => `${l.client}/${l.ch} at ${l.lastSeq} of ${l.target}`).join(", ")}`}`,
    `checker:   ${s.violations.total === 0 ? "no violation" : `${s.violations.total} violation(s): ${Object.entries(s.violations.byKind).map(([k, n]) => `${k} ${n}`).join(", ")}`}`,
    ...(s.failures.length > 0 ? [`failed:    ${s.failures.join("; ")}`] : []),
    `kept in:   ${s.out}`,
  ];
  return lines.join("\n");
}
