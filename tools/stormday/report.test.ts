import { describe, expect, it } from "vitest";
import type { DayResult } from "./day_result.ts";
import { renderPostmortem } from "./postmortem.ts";
import { renderReport } from "./report_html.ts";
import { planDay } from "./schedule.ts";
import { judgeDay } from "./slo.ts";
import { linePlot, niceMax } from "./svg_plot.ts";
import { measureImpacts, type Point } from "./timeline.ts";

const plan = planDay({ rampS: 15, steadyS: 80, leaseMs: 3_000, spikeS: 5 });
const points: Point[] = Array.from({ length: 95 }, (_, k) => ({
  t: (k + 1) * 1000, open: 2_000, attempts: 0, ready: 0, failed: 0, dropped: k === 25 ? 600 : 0, churned: 3, pubs: 20, acks: k === 25 ? 0 : 20,
  pubErrors: 0, delivered: 500, replayed: 0, gaps: 0, dups: 0, ackP99: k === 25 ? 3_500 : 30, deliverP99: 40, nodesUp: k === 25 ? 2 : 3,
}));
const totals = { attempts: 2_600, ready: 2_600, ackP99: 80, deliverP99: 90, gaps: 0, dups: 0, violations: 0, checkedAcked: 900, unacked: 0, behind: 0 };

function result(over: Partial<DayResult> = {}): DayResult {
  const injected = plan.incidents.map((i) => ({ kind: i.kind, atMs: i.atMs, doneAtMs: i.atMs + 2_000, outcome: `${i.kind} <done>` }));
  return {
    command: "storm-load stormday --quick", date: "2026-12-03T13:00:00.000Z", machine: "2 cores", quick: true,
    scale: { connections: 2_000, nodes: 3, loadProcs: 2, leaseMs: 3_000, hugeRooms: 3, hugeSize: 50, smallRooms: 160, dms: 200, rate: 20, recordingClients: 8, note: "the CI quick run" },
    errors: { "connect:ECONNREFUSED": 40, "pub:unavailable": 3 }, setupMs: 9_000, rampDoneMs: 20_000, peakOpen: 2_000, plan, points, impacts: measureImpacts(plan, points, injected, 500),
    totals, verdicts: judgeDay(totals, points), anomalies: ["T+81.0 s n1: exited on its own (75)"], ok: true, ...over,
  };
}

describe("Storm Day report", () => {
  it("report - one self-contained HTML file: no script, no external resource", () => {
    const html = renderReport(result());
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).not.toMatch(/<script|<link|src=|url\(/i);
    expect(html.match(/<svg /g)).toHaveLength(5);
  });

  it("report - every incident has a marker on every plot and a row in the table", () => {
    const html = renderReport(result());
    for (const i of plan.incidents) {
      expect(html.split(`fill="#c00">${i.kind}</text>`).length - 1).toBe(5);
      expect(html).toContain(`<tr><td>${i.kind}</td>`);
    }
  });

  it("report - errors by kind, most frequent first, in the report and the post-mortem", () => {
    expect(renderReport(result())).toContain("connect:ECONNREFUSED 40, pub:unavailable 3");
    expect(renderPostmortem(result())).toContain("Errors by kind over the day: connect:ECONNREFUSED 40, pub:unavailable 3.");
  });

  it("report - text from the run is escaped", () => {
    const html = renderReport(result());
    expect(html).toContain("&lt;done&gt;");
    expect(html).not.toContain("<done>");
  });

  it("report - the headline says when an invariant was violated", () => {
    expect(renderReport(result({ ok: false }))).toContain("INVARIANT VIOLATED");
    expect(renderReport(result())).toContain("invariants held");
  });

  it("post-mortem - the timeline lists every incident at its measured clock time, in order", () => {
    const md = renderPostmortem(result());
    const kill = plan.incidents.find((i) => i.kind === "kill")!;
    const at = new Date(Date.parse("2026-12-03T13:00:00.000Z") + kill.atMs).toISOString().slice(11, 19);
    expect(md).toContain(`| ${at} | T+${kill.atMs / 1000} s | **kill** injected`);
    const order = plan.incidents.map((i) => md.indexOf(`**${i.kind}** injected`));
    expect(order.every((x, k) => x > 0 && (k === 0 || x > order[k - 1]!))).toBe(true);
  });

  it("post-mortem - measured impact and detection filled, root cause and action items left blank", () => {
    const md = renderPostmortem(result());
    // The abnormal second ends 1 s after the kill: seen within the kill's own second, normal 1 s later.
    expect(md).toContain("| kill | 1.0 s | 0.0 s | 1.0 s | 600 | 0 | 0 | 3500 ms | 40 ms |");
    expect(md).toContain("600 connections dropped");
    expect(md).toMatch(/## Root cause\n\n_to write/);
    expect(md).toMatch(/## Action items\n\n\| action \| owner \| issue \|/);
    expect(md).toContain("exited on its own (75)");
  });

  it("plot - a target line and series paths within the plot area", () => {
    const svg = linePlot({ title: "t", yLabel: "ms", series: [{ name: "a", color: "#000", points: [[0, 0], [10, 50]] }], markers: [], target: { y: 500, label: "SLO" }, width: 300, height: 100 });
    const path = /d="([^"]+)"/.exec(svg)![1]!;
    for (const [, x, y] of path.matchAll(/[ML]([\d.]+),([\d.]+)/g)) {
      expect(Number(x)).toBeGreaterThanOrEqual(64);
      expect(Number(x)).toBeLessThanOrEqual(284);
      expect(Number(y)).toBeGreaterThanOrEqual(28);
      expect(Number(y)).toBeLessThanOrEqual(64);
    }
    expect(svg).toContain(">SLO</text>");
  });

  it("plot - axis maxima are 1, 2 or 5 times a power of ten", () => {
    expect([0, 0.3, 1, 7, 12, 430, 999, 1001].map(niceMax)).toEqual([1, 0.5, 1, 10, 20, 500, 1000, 2000]);
  });
});
