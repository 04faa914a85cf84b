import type { DayResult } from "./day_result.ts";
import { esc, linePlot, type Marker, type Series } from "./svg_plot.ts";

/**
 * Storm Day's report as one self-contained HTML file: the verdicts, the incident table, and plots
 * over time (connections, publish and delivery rates, p99s, errors) with a marker at each
 * incident. No script, no external resource. Pure.
 */
export function renderReport(r: DayResult): string {
  const s = (ms: number) => ms / 1000;
  const markers: Marker[] = r.impacts.map((i) => ({ x: s(i.atMs), label: i.kind }));
  const line = (name: string, color: string, pick: (p: DayResult["points"][number]) => number): Series => ({
    name, color, points: r.points.map((p) => [s(p.t), pick(p)] as const),
  });
  const ackTarget = r.verdicts.find((v) => v.name === "ack p99");
  const deliverTarget = r.verdicts.find((v) => v.name === "deliver p99");
  const targetMs = (v: typeof ackTarget) => Number(/(\d+)/.exec(v?.target ?? "")?.[1] ?? 0);
  const plots = [
    linePlot({ title: "Connections ready", yLabel: "connections", markers, series: [line("ready", "#1f77b4", (p) => p.open), line("nodes up x1000", "#999", (p) => p.nodesUp * 1000)] }),
    linePlot({ title: "Publishes, acks and deliveries per second", yLabel: "per second", markers, series: [line("publishes", "#ff7f0e", (p) => p.pubs), line("acks", "#2ca02c", (p) => p.acks), line("deliveries / 10", "#1f77b4", (p) => p.delivered / 10)] }),
    linePlot({ title: "Ack p99 (publish to ack)", yLabel: "ms", markers, series: [line("ack p99", "#2ca02c", (p) => p.ackP99)], target: { y: targetMs(ackTarget), label: `SLO ${ackTarget?.target ?? ""}` } }),
    linePlot({ title: "Deliver p99 (publish to delivery)", yLabel: "ms", markers, series: [line("deliver p99", "#1f77b4", (p) => p.deliverP99)], target: { y: targetMs(deliverTarget), label: `SLO ${deliverTarget?.target ?? ""}` } }),
    linePlot({ title: "Errors per second", yLabel: "per second", markers, series: [line("connections dropped", "#d62728", (p) => p.dropped), line("connects failed", "#9467bd", (p) => p.failed), line("publish errors", "#8c564b", (p) => p.pubErrors)] }),
  ];
  const verdicts = r.verdicts.map((v) => `<tr><td>${esc(v.name)}</td><td>${esc(v.target)}</td><td>${esc(v.measured)}</td>` +
    `<td>${v.secondsMet === undefined ? "" : `${(v.secondsMet * 100).toFixed(1)} %`}</td><td class="${v.ok ? "ok" : "ko"}">${v.ok ? "met" : v.hard ? "VIOLATED" : "missed"}</td><td>${v.hard ? "hard invariant" : "SLO"}</td></tr>`).join("\n");
  const sec = (ms: number | undefined) => (ms === undefined ? "—" : `${(ms / 1000).toFixed(1)} s`);
  const incidents = r.impacts.map((i) => `<tr><td>${esc(i.kind)}</td><td>${esc(i.label)}</td><td>${sec(i.atMs)}</td><td>${sec(i.detectedAtMs)}</td>` +
    `<td>${sec(i.recoveredAtMs)}</td><td>${sec(i.stallMs)}</td><td>${i.dropped}</td><td>${i.failedConnects}</td><td>${i.pubErrors}</td>` +
    `<td>${Math.round(i.maxAckP99)}</td><td>${Math.round(i.maxDeliverP99)}</td><td>${esc(i.outcome)}</td></tr>`).join("\n");
  const sc = r.scale;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Storm Day ${esc(r.date)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;max-width:960px;margin:24px auto;padding:0 12px}table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ddd;padding:3px 6px;font-size:12px;text-align:left}.ok{color:#080;font-weight:bold}.ko{color:#c00;font-weight:bold}
code{background:#f4f4f4;padding:1px 3px}svg{display:block;margin:12px 0}</style></head><body>
<h1>Storm Day: ${r.ok ? "invariants held" : "INVARIANT VIOLATED"}</h1>
<p>${esc(r.date)} · ${r.quick ? "quick run (CI)" : "full run"} · <code>${esc(r.command)}</code><br>
${sc.connections.toLocaleString("en-US")} connections over ${sc.nodes} Storm nodes (PostgreSQL + Hazelcast, lease ${sc.leaseMs} ms) from ${sc.loadProcs} load processes;
${sc.hugeRooms} huge rooms of ${sc.hugeSize}, ${sc.smallRooms.toLocaleString("en-US")} small rooms, ${sc.dms.toLocaleString("en-US")} DMs; ${sc.rate} publishes/s base;
${sc.recordingClients} recording clients checked by the history checker.<br>
Setup ${sec(r.setupMs)}; 99 % of the ${sc.connections.toLocaleString("en-US")} ready ${r.rampDoneMs === undefined ? "never at once" : `after ${sec(r.rampDoneMs)}`}; peak ${r.peakOpen.toLocaleString("en-US")} ready.<br>
${esc(r.machine)}</p>
<p><b>Scale:</b> ${esc(sc.note)}</p>
<h2>Verdicts</h2>
<table><tr><th>objective</th><th>target</th><th>measured (whole day)</th><th>seconds meeting it</th><th>verdict</th><th>kind</th></tr>
${verdicts}</table>
<h2>Incidents</h2>
<p>Times in seconds since the first connection; detection = first second with dropped connections, errors, acks under half the rate before, or ack p99 over target; recovery = start of 3 normal seconds; stall = longest run of seconds with acks under half the rate before (1 s resolution).</p>
<table><tr><th>kind</th><th>what</th><th>at</th><th>detected</th><th>recovered</th><th>stall</th><th>dropped</th><th>failed connects</th><th>publish errors</th><th>max ack p99 ms</th><th>max deliver p99 ms</th><th>outcome</th></tr>
${incidents}</table>
<p><b>Errors by kind:</b> ${Object.entries(r.errors).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${esc(k)} ${n}`).join(", ") || "none"}</p>
${r.anomalies.length > 0 ? `<h2>Anomalies</h2><ul>${r.anomalies.map((a) => `<li>${esc(a)}</li>`).join("")}</ul>` : ""}
<h2>Over time</h2>
${plots.join("\n")}
</body></html>
`;
}
