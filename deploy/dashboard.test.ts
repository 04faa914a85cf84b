import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const here = (name: string) => new URL(name, import.meta.url);

/** Series Prometheus itself makes (not exported by a node) that the rules may use. */
const PROMETHEUS_SERIES = new Set(["up"]);

const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool", "inf", "nan"]);

/** The metric names a PromQL expression reads: identifiers left once strings, label matchers, ranges, grouping lists and function names are removed. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, " ")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\$\{?\w+\}?/g, " ");
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = stripped.slice(m.index + m[0].length).trimStart();
    if (after.startsWith("(") || KEYWORDS.has(m[0].toLowerCase())) continue;
    if (/^\d/.test(stripped.slice(m.index - 1, m.index)) || /[eE]\d/.test(m[0])) continue; // 1.6e9
    names.add(m[0]);
  }
  return [...names];
}

interface Panel { type: string; id: number; title: string; targets?: Array<{ expr?: string }>; panels?: Panel[] }

function dashboardExprs(json: string): Array<{ where: string; expr: string }> {
  const dash = JSON.parse(json) as { panels: Panel[] };
  const all = dash.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  return all.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr ?? "" })));
}

/** `expr:` values of a rules file (single line, or a `|` block indented below it); no YAML library in the project. */
function ruleExprs(yaml: string): Array<{ where: string; expr: string }> {
  const lines = yaml.split("\n");
  const out: Array<{ where: string; expr: string }> = [];
  let alert = "";
  for (let i = 0; i < lines.length; i++) {
    const a = /^\s*- alert:\s*(\S+)/.exec(lines[i]!);
    if (a) alert = a[1]!;
    const e = /^(\s*)expr:\s*(.*)$/.exec(lines[i]!);
    if (!e) continue;
    if (e[2] !== "|" && e[2] !== ">") {
      out.push({ where: `alert ${alert}`, expr: e[2]! });
      continue;
    }
    const body: string[] = [];
    while (i + 1 < lines.length && (lines[i + 1]!.trim() === "" || lines[i + 1]!.search(/\S/) > e[1]!.length)) body.push(lines[++i]!.trim());
    out.push({ where: `alert ${alert}`, expr: body.join(" ").trim() });
  }
  return out;
}

function exported(): Set<string> {
  return new Set(readFileSync(here("metric_names.txt"), "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")));
}

function unknownNames(exprs: Array<{ where: string; expr: string }>, known: Set<string>): string[] {
  return exprs.flatMap(({ where, expr }) => metricNames(expr).filter((n) => !known.has(n) && !PROMETHEUS_SERIES.has(n)).map((n) => `${where}: ${n}`));
}

describe("deploy - dashboard and alert rules", () => {
  const dashboard = readFileSync(here("grafana/storm.json"), "utf8");
  const rules = readFileSync(here("prometheus/alerts.yml"), "utf8");

  it("metric names - an expression's names exclude functions, labels, strings and numbers", () => {
    expect(metricNames('histogram_quantile(0.99, sum by (le) (rate(storm_x_bucket{route="/ws",le=~"0.1"}[5m]))) > 1.6e9').sort()).toEqual(["storm_x_bucket"]);
    expect(metricNames('rate(a_total[1m]) == 0 and on (instance) up{job="storm"} == 1').sort()).toEqual(["a_total", "up"]);
    expect(metricNames("sum(rate(storm_x[$__rate_interval])) / scalar(sum(storm_y))").sort()).toEqual(["storm_x", "storm_y"]);
  });

  it("metric names - a name the node does not export is reported", () => {
    const broken = [{ where: "panel \"x\"", expr: "sum(rate(storm_bogus_total[5m]))" }];
    expect(unknownNames(broken, exported())).toEqual(['panel "x": storm_bogus_total']);
  });

  it("dashboard - is a Grafana dashboard whose every panel has a query", () => {
    const dash = JSON.parse(dashboard) as { uid: string; panels: Panel[] };
    expect(dash.uid).toBeTruthy();
    const panels = dash.panels.filter((p) => p.type !== "row");
    expect(panels.length).toBeGreaterThan(10);
    for (const p of panels) expect(p.targets?.every((t) => (t.expr ?? "").trim() !== ""), p.title).toBe(true);
    expect(new Set(dash.panels.map((p) => p.id)).size).toBe(dash.panels.length);
  });

  it("dashboard - queries only metrics the node exports", () => {
    expect(unknownNames(dashboardExprs(dashboard), exported())).toEqual([]);
  });

  it("alert rules - every alert has one expression, a severity and a summary", () => {
    const alerts = rules.match(/^\s*- alert:/gm) ?? [];
    expect(alerts.length).toBeGreaterThan(5);
    expect(ruleExprs(rules)).toHaveLength(alerts.length);
    expect(rules.match(/^\s*severity:/gm)).toHaveLength(alerts.length);
    expect(rules.match(/^\s*summary:/gm)).toHaveLength(alerts.length);
  });

  it("alert rules - read only metrics the node exports", () => {
    expect(unknownNames(ruleExprs(rules), exported())).toEqual([]);
  });

  it("alert rules - the SLOs of the seed each have an alert", () => {
    for (const name of ["storm_publish_deliver_seconds_bucket", "storm_http_requests_total", "storm_errors_total", "storm_lease_renewals_total", "storm_failovers_total", "up"]) {
      expect(ruleExprs(rules).some((r) => metricNames(r.expr).includes(name)), name).toBe(true);
    }
  });
});
