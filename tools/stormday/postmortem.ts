import type { DayResult } from "./day_result.ts";

/**
 * The post-mortem skeleton of a Storm Day, in Markdown: the timeline and impact of each incident
 * filled in with what was measured, how it was detected, the SLO verdicts, and blank sections
 * (root cause, what went well, action items) for people to write. Pure.
 */
export function renderPostmortem(r: DayResult): string {
  const t0 = Date.parse(r.date);
  const clock = (ms: number | undefined) => (ms === undefined ? "—" : new Date(t0 + ms).toISOString().slice(11, 19));
  const sec = (ms: number | undefined) => (ms === undefined ? "—" : `${(ms / 1000).toFixed(1)} s`);
  const rel = (ms: number | undefined) => (ms === undefined ? "—" : `T+${(ms / 1000).toFixed(0)} s`);
  const sc = r.scale;
  const lines: string[] = [
    `# Post-mortem: Storm Day of ${r.date.slice(0, 10)}${r.quick ? " (quick run)" : ""}`,
    "",
    `Status: draft (generated from the run's measurements; the sections marked _to write_ are for people).`,
    "",
    "## Summary",
    "",
    `A simulated viral launch: ${sc.connections.toLocaleString("en-US")} connections ramped over ${sc.nodes} Storm nodes, with ${r.impacts.length} incidents injected on purpose. ` +
      `Hard invariants (no loss, no duplicate, order): **${r.ok ? "held" : "VIOLATED"}**. ` +
      `SLOs: ${r.verdicts.filter((v) => !v.hard).map((v) => `${v.name} ${v.ok ? "met" : "missed"} (${v.measured})`).join("; ")}.`,
    "",
    `Scale: ${sc.note}`,
    "",
    "## Timeline (UTC)",
    "",
    "| time | T+ | event |",
    "|---|---|---|",
    `| ${clock(0)} | T+0 s | ramp starts: ${sc.connections.toLocaleString("en-US")} connections planned over ${sec(r.plan.rampMs)} |`,
    ...(r.rampDoneMs === undefined ? [] : [`| ${clock(r.rampDoneMs)} | ${rel(r.rampDoneMs)} | 99 % of the ${sc.connections.toLocaleString("en-US")} connections ready |`]),
  ];
  const events: Array<[number, string]> = [];
  for (const i of r.impacts) {
    events.push([i.atMs, `**${i.kind}** injected: ${i.label} (${i.outcome})`]);
    if (i.detectedAtMs !== undefined) events.push([i.detectedAtMs, `${i.kind}: impact visible in the client signals`]);
    if (i.doneAtMs !== undefined) events.push([i.doneAtMs, `${i.kind}: injector done (node back / service restarted / spike over)`]);
    if (i.recoveredAtMs !== undefined) events.push([i.recoveredAtMs, `${i.kind}: client signals normal again`]);
  }
  events.push([r.plan.endMs, "publishing stops; drain and history check"]);
  events.sort((a, b) => a[0] - b[0]);
  for (const [ms, what] of events) lines.push(`| ${clock(ms)} | ${rel(ms)} | ${what} |`);
  lines.push(
    "",
    "## Impact (measured)",
    "",
    "| incident | stall | time to detect | time to recover | connections dropped | connects failed | publish errors | max ack p99 | max deliver p99 |",
    "|---|---|---|---|---|---|---|---|---|",
    ...r.impacts.map((i) => `| ${i.kind} | ${sec(i.stallMs)} | ${i.detectedAtMs === undefined ? "not visible" : sec(i.detectedAtMs - i.atMs)} | ` +
      `${i.recoveredAtMs === undefined ? (i.detectedAtMs === undefined ? "—" : "not within its window") : sec(i.recoveredAtMs - i.atMs)} | ` +
      `${i.dropped} | ${i.failedConnects} | ${i.pubErrors} | ${Math.round(i.maxAckP99)} ms | ${Math.round(i.maxDeliverP99)} ms |`),
    "",
    "Stall: longest run of seconds with acks under half the rate of the 10 s before (1 s resolution). Times to detect and recover are measured from the injection.",
    "",
    "## Detection",
    "",
    "How each incident showed, from the clients' side (the load generator's per-second signals; a production setup would page on the same signals from `/metrics` and the alert rules):",
    "",
    ...r.impacts.map((i) => `- ${i.kind}: ${detection(i)}`),
    "",
    `Errors by kind over the day: ${Object.entries(r.errors).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ") || "none"}.`,
    "",
    "## SLO verdicts",
    "",
    "| objective | target | measured | seconds meeting it | verdict |",
    "|---|---|---|---|---|",
    ...r.verdicts.map((v) => `| ${v.name} | ${v.target} | ${v.measured} | ${v.secondsMet === undefined ? "" : `${(v.secondsMet * 100).toFixed(1)} %`} | ${v.ok ? "met" : v.hard ? "**VIOLATED**" : "missed"} |`),
    "",
    ...(r.anomalies.length > 0 ? ["## Anomalies (unplanned)", "", ...r.anomalies.map((a) => `- ${a}`), ""] : []),
    "## Root cause",
    "",
    "_to write: for each incident whose impact exceeded its budget, why._",
    "",
    "## What went well",
    "",
    "_to write._",
    "",
    "## What went wrong",
    "",
    "_to write._",
    "",
    "## Action items",
    "",
    "| action | owner | issue |",
    "|---|---|---|",
    "| _to write_ | | |",
    "",
    `Command: \`${r.command}\``,
    "",
  );
  return lines.join("\n");
}

function detection(i: DayResult["impacts"][number]): string {
  if (i.detectedAtMs === undefined) return "no client-visible impact.";
  const signs = [
    i.dropped > 0 ? `${i.dropped} connections dropped` : "",
    i.pubErrors > 0 ? `${i.pubErrors} publish errors` : "",
    i.failedConnects > 0 ? `${i.failedConnects} failed connects` : "",
    i.stallMs > 0 ? `acks stalled ${(i.stallMs / 1000).toFixed(0)} s` : "",
  ].filter(Boolean);
  return `visible ${((i.detectedAtMs - i.atMs) / 1000).toFixed(1)} s after the injection${signs.length > 0 ? `: ${signs.join(", ")}` : " (latency over target)"}.`;
}
