import { intValue, parseFlags, str, UsageError } from "../../cli/cli_args.ts";
import { DEFAULT_SLOS, type SloTargets } from "./slo.ts";

export const USAGE = `storm-load stormday: the seed's viral launch, scaled to this machine (all traffic on 127.0.0.0/8)

  storm-load stormday [--quick] [--connections N] [--ramp S] [--steady S] [--nodes K] [--load-procs P]
                      [--rate R] [--churn PERMILLE] [--lease-ms L] [--drain S] [--out DIR] [--strict] [--note TEXT]

A local cluster (PostgreSQL, a Hazelcast member, K Storm nodes), its rooms created over REST (3 huge
rooms, small rooms of 25, DMs for 20 % of users), then N users ramped up over S seconds from P load
processes (127.0.0.2, ...), publishing R/s (70 % small rooms, 20 % DMs, 10 % huge rooms) with churn,
while six incidents happen at set times: a node SIGKILLed, a node SIGSTOPped past its lease, PostgreSQL
restarted, the Hazelcast member restarted, a 10x publish spike, 20 % of clients reconnecting at once.
Recording clients in sampled rooms are checked by the history checker at the end.

  --quick         the CI run: 2,000 connections, 3 nodes, every incident, about 3 minutes
  --connections   users, one WebSocket each (default 100000)
  --ramp          seconds to open them all (default: connections / 150, 20 to 300)
  --steady        seconds of load and incidents after the ramp (default 360; quick 105)
  --nodes         Storm nodes (default: enough that one down leaves < 18,000 sockets per node, at least 3)
  --load-procs    load processes (default: connections / 18,000, at least 2)
  --rate          bulk publishes per second (default: connections / 200, at least 20)
  --churn         connections closed and resumed per second, per mille of those ready (default 2)
  --lease-ms      node lease (default 3000)
  --drain         seconds the recording clients get after the day to have every publish acked and
                  catch up (default 60; quick 20): past it, "recovered" is a miss
  --out           directory for report.html, postmortem.md, result.json, histories (default: a temp dir)
  --strict        exit 1 on an SLO miss too (default: only a broken invariant fails)
  --note          why this scale, for the report (e.g. why not 100,000)

Exit status: 0 the invariants held (and with --strict, every SLO); 1 loss, a duplicate, a gap or a
reordering (or an SLO miss with --strict); 2 the run itself failed.`;

export interface DayOptions {
  quick: boolean;
  connections: number;
  rampS: number;
  steadyS: number;
  nodes: number;
  loadProcs: number;
  rate: number;
  /** Share of ready connections churned per second. */
  churn: number;
  leaseMs: number;
  /** After the day: how long the recording clients get to have every publish acked and catch up. */
  drainS: number;
  out: string;
  strict: boolean;
  note: string;
  groups: number;
  recordersPerGroup: number;
  slo: SloTargets;
  command: string;
}

/** Sockets per node (and per load process) we plan for: open files are capped at 20,000 per process. */
export const PER_PROCESS = 18_000;

/**
 * Reads `storm-load stormday`'s flags; the defaults follow the scale.
 * @throws {UsageError} `Cannot read ...` / `Cannot run Storm Day: ...`
 */
export function parseDayArgs(argv: readonly string[], defaultOut: string): DayOptions & { help: boolean; version: boolean } {
  const names = ["connections", "ramp", "steady", "nodes", "load-procs", "rate", "churn", "lease-ms", "drain", "out", "note"];
  const p = parseFlags(argv, { ...Object.fromEntries(names.map((n) => [n, { type: "string" as const }])), quick: { type: "boolean" }, strict: { type: "boolean" } });
  const v = (n: string) => str(p.values, n);
  const quick = p.values["quick"] === true;
  const connections = intValue(v("connections"), "--connections", quick ? 2_000 : 100_000, 10);
  const nodes = intValue(v("nodes"), "--nodes", Math.max(3, Math.ceil(connections / PER_PROCESS) + 1), 3, 64);
  const loadProcs = intValue(v("load-procs"), "--load-procs", Math.max(2, Math.ceil(connections / PER_PROCESS)), 1, 200);
  if (connections / (nodes - 1) > PER_PROCESS) {
    throw new UsageError(`Cannot run Storm Day: ${connections} connections over ${nodes - 1} nodes (one is down during an incident) is more than ${PER_PROCESS} sockets per node (open files are capped at 20,000): use more nodes`);
  }
  if (connections / loadProcs > PER_PROCESS) {
    throw new UsageError(`Cannot run Storm Day: ${connections} connections over ${loadProcs} load processes is more than ${PER_PROCESS} per process: use more load processes`);
  }
  return {
    quick, connections, nodes, loadProcs,
    // 150 connections/s: what a node admits here with the day's subscriptions and load on 2 shared
    // cores (a faster ramp piles up handshakes that time out and retry); at most 5 minutes.
    rampS: intValue(v("ramp"), "--ramp", quick ? 15 : Math.min(300, Math.max(20, Math.round(connections / 150))), 1),
    steadyS: intValue(v("steady"), "--steady", quick ? 105 : 360, 1),
    rate: intValue(v("rate"), "--rate", Math.max(20, Math.round(connections / 200)), 1),
    churn: intValue(v("churn"), "--churn", 2, 0, 1000) / 1000,
    leaseMs: intValue(v("lease-ms"), "--lease-ms", 3_000, 500),
    drainS: intValue(v("drain"), "--drain", quick ? 20 : 60, 1),
    out: v("out") ?? defaultOut,
    strict: p.values["strict"] === true,
    note: v("note") ?? (connections >= 100_000 ? "the full scale of the seed's Storm Day." : `${connections.toLocaleString("en-US")} connections${quick ? " (the CI quick run)" : ""}.`),
    groups: 2,
    recordersPerGroup: quick ? 3 : 4,
    slo: DEFAULT_SLOS,
    command: `storm-load stormday ${argv.join(" ")}`.trim(),
    help: p.help,
    version: p.version,
  };
}
