/**
 * The monthly cost of the seed's target (100,000 connections, 500,000 deliveries/s, every message
 * durable in PostgreSQL) on real cloud offers, from the per-core figures the benchmark suite measured
 * on this machine. Method and assumptions: docs/COST.md. No dependencies.
 *
 *   npx tsx deploy/cost_model.ts tools/bench/results/suite [--json]
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

// ---- Target and assumptions (docs/COST.md says why) ----
const TARGET = { connections: 100_000, deliveriesPerSec: 500_000 };
const BUDGET_EUR = 700;
/** CPU a pod may use at the peak: the rest is for spikes, reconnect storms and GC. */
const UTILISATION = 0.6;
/** Storm pod: 2 vCPU (edge + one actor worker), at most 15,000 connections (deploy/k8s/hpa.yaml). */
const POD = { vcpu: 2, memGiB: 2, maxConnections: 15_000 };
/** Average traffic over the month relative to the peak (the peak is not held 24/7). */
const AVERAGE_OVER_PEAK = 0.2;
/** Days of journal kept in PostgreSQL. */
const RETENTION_DAYS = 7;
const HOURS_PER_MONTH = 730;
const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
const EUR_PER_USD = 0.92;

// ---- List prices, excluding VAT (docs/COST.md: as known in 2025; check before use) ----
interface Machine { name: string; vcpu: number; memGiB: number; eurMonth: number; includedTB: number }
interface Offer {
  name: string;
  storm: Machine;
  postgres: Machine;
  hazelcast: Machine;
  /** EUR per GB-month of block storage for the journal, beyond what each PostgreSQL server holds. */
  diskEurPerGB: number;
  includedDiskGB: number;
  /** Fixed monthly costs (control plane, load balancer). */
  fixed: Array<[string, number]>;
  /** EUR for the month's egress beyond what the machines include, given total TB. */
  egressEur(tb: number, includedTB: number): number;
  note: string;
}
const usd = (perHour: number) => perHour * HOURS_PER_MONTH * EUR_PER_USD;
/** Cumulative TB bounds: the first 10 TB at 0.09 USD/GB, the next 40 at 0.085, the next 100 at 0.07, then 0.05. */
const awsEgressUsdPerGB: Array<[number, number]> = [[10, 0.09], [50, 0.085], [150, 0.07], [Infinity, 0.05]];
const OFFERS: Offer[] = [
  {
    name: "Hetzner Cloud CCX (dedicated vCPU, EU)",
    storm: { name: "CCX33", vcpu: 8, memGiB: 32, eurMonth: 48.49, includedTB: 20 },
    postgres: { name: "CCX33", vcpu: 8, memGiB: 32, eurMonth: 48.49, includedTB: 20 },
    hazelcast: { name: "CCX13", vcpu: 2, memGiB: 8, eurMonth: 12.49, includedTB: 20 },
    diskEurPerGB: 0.044,
    includedDiskGB: 0,
    fixed: [["Kubernetes control plane (k3s on 3 x CCX13)", 3 * 12.49]],
    egressEur: (tb, included) => Math.max(0, tb - included) * 1.0,
    note: "20 TB traffic included per server, EUR 1/TB beyond; clients reach the nodes by DNS round-robin",
  },
  {
    name: "Hetzner dedicated AX102 (16 cores, 128 GB)",
    storm: { name: "AX102", vcpu: 16, memGiB: 128, eurMonth: 104, includedTB: Infinity },
    postgres: { name: "AX102", vcpu: 16, memGiB: 128, eurMonth: 104, includedTB: Infinity },
    hazelcast: { name: "(on the Storm servers)", vcpu: 0, memGiB: 0, eurMonth: 0, includedTB: 0 },
    // 2 x 1.92 TB NVMe in RAID 1; beyond, priced like a cloud volume (an approximation).
    diskEurPerGB: 0.044,
    includedDiskGB: 1920,
    fixed: [],
    egressEur: () => 0,
    note: "physical cores counted as vCPUs (threads not counted); traffic unmetered at 1 Gbit/s; one-off setup fees not included",
  },
  {
    name: "AWS us-east-1 on demand (c6i / m6i, EKS)",
    storm: { name: "c6i.2xlarge", vcpu: 8, memGiB: 16, eurMonth: usd(0.34), includedTB: 0 },
    postgres: { name: "m6i.2xlarge", vcpu: 8, memGiB: 32, eurMonth: usd(0.384), includedTB: 0 },
    hazelcast: { name: "c6i.large", vcpu: 2, memGiB: 4, eurMonth: usd(0.085), includedTB: 0 },
    diskEurPerGB: 0.08 * EUR_PER_USD,
    includedDiskGB: 0,
    fixed: [["EKS control plane", usd(0.1)], ["Network Load Balancer (hours only)", usd(0.0225)]],
    egressEur: (tb) => {
      let left = tb * 1000;
      let cost = 0;
      let prevTB = 0;
      for (const [upToTB, price] of awsEgressUsdPerGB) {
        const gb = Math.min(left, (upToTB - prevTB) * 1000);
        cost += gb * price;
        left -= gb;
        prevTB = upToTB;
      }
      return cost * EUR_PER_USD;
    },
    note: "USD list prices at EUR 0.92 per USD; gp3 volumes; egress tiers 0.09-0.05 USD/GB",
  },
];

// ---- Measured figures, from the suite's JSON ----
interface Round { results?: Result[]; storm?: Durable }
interface Result {
  target: string; subscribers: number; channels: number; perConn: number; deliveredPerSec: number;
  cpuPercent: { server: number }; cpuDetail?: { usPerDelivery: { server: number } }; wire?: { bytesPerDelivery: number };
}
interface Durable { ackedPerSec: number; cpuPercent: { server: number; postgres: number }; walBytesPerRow: number }
interface Conns {
  target: string; nodes: number; kbPerConn: number; kbPerConnIdle: number; connectPerSec: number;
  serverRssMB: { before: number }; cpuPercent: { connect: { server: number }; hold: { server: number } };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const read = (dir: string, name: string) => JSON.parse(readFileSync(join(dir, name), "utf8")) as Round & { rounds?: Round[] };
const rounds = (dir: string, name: string): Round[] => {
  const j = read(dir, name);
  return j.rounds ?? [j];
};

export interface Shape { name: string; file: string; fanout: number; usPerDelivery: number; bytesPerDelivery: number }

function fanoutShape(dir: string, file: string, name: string): Shape {
  const storm = rounds(dir, file).map((r) => r.results!.find((x) => x.target === "storm")!);
  const s0 = storm[0]!;
  return {
    name,
    file,
    fanout: (s0.subscribers * s0.perConn) / s0.channels,
    usPerDelivery: median(storm.map((s) => s.cpuDetail?.usPerDelivery.server ?? (s.cpuPercent.server * 1e4) / s.deliveredPerSec)),
    bytesPerDelivery: median(storm.map((s) => s.wire?.bytesPerDelivery ?? 0)),
  };
}

export function measure(dir: string) {
  const durable = rounds(dir, "c.json").map((r) => r.storm!);
  const conns = (read(dir, "d.json") as unknown as { results: Conns[] }).results.find((r) => r.target === "storm")!;
  return {
    shapes: [
      fanoutShape(dir, "b.json", "small rooms: 10 members, 5,000 msg/s"),
      fanoutShape(dir, "a200.json", "one room of 1,000, 200 msg/s"),
      fanoutShape(dir, "amax.json", "one room of 1,000, max rate"),
    ],
    durable: {
      serverUsPerPublish: median(durable.map((d) => (d.cpuPercent.server * 1e4) / d.ackedPerSec)),
      pgUsPerPublish: median(durable.map((d) => (d.cpuPercent.postgres * 1e4) / d.ackedPerSec)),
      bytesPerRow: median(durable.map((d) => d.walBytesPerRow)),
    },
    conns: {
      kbPerConn: Math.max(conns.kbPerConn, conns.kbPerConnIdle),
      baseMBPerNode: conns.serverRssMB.before / conns.nodes,
      idleCoresPer100k: (conns.cpuPercent.hold.server / 100) * (100_000 / TARGET.connections),
      usPerConnect: (conns.cpuPercent.connect.server * 1e4) / conns.connectPerSec,
    },
  };
}

export function size(m: ReturnType<typeof measure>, shape: Shape) {
  const publishesPerSec = TARGET.deliveriesPerSec / shape.fanout;
  const stormCores = (TARGET.deliveriesPerSec * shape.usPerDelivery) / 1e6 + m.conns.idleCoresPer100k * (TARGET.connections / 100_000);
  const pods = Math.max(Math.ceil(stormCores / (POD.vcpu * UTILISATION)), Math.ceil(TARGET.connections / POD.maxConnections)) + 1; // N+1
  const podMemMB = m.conns.baseMBPerNode + ((TARGET.connections / (pods - 1)) * m.conns.kbPerConn) / 1024;
  const pgCores = (publishesPerSec * m.durable.pgUsPerPublish) / 1e6;
  const journalGB = (publishesPerSec * AVERAGE_OVER_PEAK * RETENTION_DAYS * 86_400 * m.durable.bytesPerRow) / 1e9;
  const egressTB = (TARGET.deliveriesPerSec * AVERAGE_OVER_PEAK * SECONDS_PER_MONTH * shape.bytesPerDelivery) / 1e12;
  return { publishesPerSec, stormCores, pods, podMemMB, pgCores, journalGB, egressTB, peakGbps: (TARGET.deliveriesPerSec * shape.bytesPerDelivery * 8) / 1e9 };
}

export function price(offer: Offer, need: ReturnType<typeof size>) {
  const podsPerServer = Math.min(Math.floor(offer.storm.vcpu / POD.vcpu), Math.floor(offer.storm.memGiB / POD.memGiB));
  const stormServers = Math.ceil(need.pods / podsPerServer);
  const pgVcpu = Math.max(2, need.pgCores / UTILISATION);
  // A primary and a synchronous standby (G2 across the primary's loss), each sized for the peak.
  const pgServers = 2 * Math.ceil(pgVcpu / offer.postgres.vcpu);
  const hzServers = offer.hazelcast.vcpu > 0 ? 3 : 0;
  // Clients' traffic leaves from the Storm servers; an allowance is per server, not pooled.
  const included = stormServers * offer.storm.includedTB;
  const lines: Array<[string, number]> = [
    [`Storm: ${stormServers} x ${offer.storm.name} (${need.pods} pods of ${POD.vcpu} vCPU)`, stormServers * offer.storm.eurMonth],
    [`PostgreSQL: ${pgServers} x ${offer.postgres.name} (primary + sync standby)`, pgServers * offer.postgres.eurMonth],
    [`journal disk: 2 x ${Math.ceil(need.journalGB)} GB`, 2 * Math.max(0, need.journalGB - offer.includedDiskGB) * offer.diskEurPerGB],
    ...(hzServers ? [[`Hazelcast: 3 x ${offer.hazelcast.name}`, 3 * offer.hazelcast.eurMonth] as [string, number]] : []),
    ...offer.fixed,
    [`egress: ${need.egressTB.toFixed(0)} TB`, offer.egressEur(need.egressTB, included)],
  ];
  return { lines, total: lines.reduce((a, [, eur]) => a + eur, 0) };
}

const dir = process.argv[2];
if (!dir) {
  console.error("Cannot run the cost model: usage: npx tsx deploy/cost_model.ts tools/bench/results/suite [--json]");
  process.exit(2);
}
const m = measure(dir);
const rows = m.shapes.map((shape) => ({ shape, need: size(m, shape), offers: OFFERS.map((o) => ({ offer: o.name, ...price(o, size(m, shape)) })) }));
if (process.argv.includes("--json")) {
  console.log(JSON.stringify({ target: TARGET, budgetEur: BUDGET_EUR, measured: m, rows }, null, 2));
} else {
  const f0 = (x: number) => Math.round(x).toLocaleString("en-US");
  const f2 = (x: number) => x.toFixed(2);
  console.log(`## Cost of ${f0(TARGET.connections)} connections and ${f0(TARGET.deliveriesPerSec)} deliveries/s (from ${dir})\n`);
  console.log("| traffic shape (suite file) | fan-out | server µs/delivery | durable publishes/s | Storm cores | pods (N+1) | PostgreSQL cores | egress peak Gbit/s, TB/month | " + OFFERS.map((o) => o.name).join(" | ") + " |");
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|" + OFFERS.map(() => "---:").join("|") + "|");
  for (const r of rows) {
    const eur = r.offers.map((o) => `${f0(o.total)} €${o.total <= BUDGET_EUR ? " ✓" : ""}`);
    console.log(`| ${r.shape.name} (${r.shape.file}) | ${f0(r.shape.fanout)} | ${f2(r.shape.usPerDelivery)} | ${f0(r.need.publishesPerSec)} | ${r.need.stormCores.toFixed(1)} | ${r.need.pods} | ${r.need.pgCores.toFixed(2)} | ${r.need.peakGbps.toFixed(2)}, ${f0(r.need.egressTB)} | ${eur.join(" | ")} |`);
  }
  console.log(`\n✓: within the seed's ${BUDGET_EUR} EUR/month. Measured: durable publish ${f2(m.durable.serverUsPerPublish)} µs server + ${f2(m.durable.pgUsPerPublish)} µs PostgreSQL CPU, ${f0(m.durable.bytesPerRow)} B of WAL per message (c.json); ${f2(m.conns.kbPerConn)} KB per connection, ${f0(m.conns.baseMBPerNode)} MB per idle node, ${f2(m.conns.idleCoresPer100k)} cores per 100,000 idle connections, ${f0(m.conns.usPerConnect)} µs of server CPU per admitted connection (d.json).`);
  const worst = rows[0]!;
  console.log(`\n### Line items, ${worst.shape.name}\n`);
  for (const o of worst.offers) {
    console.log(`- **${o.offer}: ${f0(o.total)} €/month**: ` + o.lines.map(([what, eur]) => `${what} ${f0(eur)} €`).join("; "));
  }
}
