import { readFileSync } from "node:fs";

/**
 * What the dashboard and the alert rules read, for the checks that they read only metrics a node
 * exports (`deploy/dashboard.test.ts` against `metric_names.txt`, `tests/metrics.test.ts` against a
 * running node's `/metrics`). No PromQL or YAML library in the project: these parse just enough.
 */

/** Series Prometheus itself makes (not exported by a node) that the rules may use. */
export const PROMETHEUS_SERIES: ReadonlySet<string> = new Set(["up"]);

const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool", "inf", "nan"]);

/** An expression and where it is (`panel "x"`, `alert Y`). */
export interface Expr {
  where: string;
  expr: string;
}

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

export interface Panel {
  type: string;
  id: number;
  title: string;
  targets?: Array<{ expr?: string }>;
  panels?: Panel[];
}

/** Every query of a Grafana dashboard, rows' panels included. */
export function dashboardExprs(json: string): Expr[] {
  const dash = JSON.parse(json) as { panels: Panel[] };
  const all = dash.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  return all.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr ?? "" })));
}

/** `expr:` values of a rules file (single line, or a `|` block indented below it). */
export function ruleExprs(yaml: string): Expr[] {
  const lines = yaml.split("\n");
  const out: Expr[] = [];
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

/** The names an expression reads that are not in `known` (nor Prometheus's own), as `where: name`. */
export function unknownNames(exprs: readonly Expr[], known: ReadonlySet<string>): string[] {
  return exprs.flatMap(({ where, expr }) => metricNames(expr).filter((n) => !known.has(n) && !PROMETHEUS_SERIES.has(n)).map((n) => `${where}: ${n}`));
}

/** The queries of the deployed dashboard and alert rules (`deploy/grafana/storm.json`, `deploy/prometheus/alerts.yml`). */
export function deployedExprs(): { dashboard: Expr[]; rules: Expr[] } {
  const read = (name: string) => readFileSync(new URL(name, import.meta.url), "utf8");
  return { dashboard: dashboardExprs(read("grafana/storm.json")), rules: ruleExprs(read("prometheus/alerts.yml")) };
}

/** The names `metric_names.txt` lists, one a line. */
export function listedNames(): Set<string> {
  return new Set(readFileSync(new URL("metric_names.txt", import.meta.url), "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")));
}
