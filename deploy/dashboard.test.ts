import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { dashboardExprs, listedNames as exported, metricNames, type Panel, ruleExprs, unknownNames } from "./promql_names.ts";

const here = (name: string) => new URL(name, import.meta.url);

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
