import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { type PostgresServer, skipPostgres, startPostgres } from "./harness/postgres.ts";
import { type StormProcess, startStorm } from "./harness/storm_process.ts";
import { until } from "./harness/until.ts";
import { pipelined, WsClient } from "./harness/ws_client.ts";

/**
 * `GET /metrics` reports the seed's KPIs as seen by the node's edge (publishes, deliveries and
 * their latency, errors by code, HTTP requests by route and status, connections by transport,
 * activations), checked against what clients did here, and the group commit of the node's journal: statements, appends, entries and
 * a histogram of the statements' wall time, summed over the threads that commit (the storage
 * thread embedded, every actor worker on PostgreSQL). Checked against publishes counted here.
 */
const nodes: StormProcess[] = [];
const clients: WsClient[] = [];
let pg: PostgresServer | undefined;

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(nodes.map((n) => n.stop()));
  await pg?.stop();
});

/** The sample values of one scrape, by series (name and labels as written). */
async function scrape(node: StormProcess): Promise<Map<string, number>> {
  const r = await node.http("GET", "/metrics");
  expect(r.status).toBe(200);
  const out = new Map<string, number>();
  for (const line of String(r.body).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

async function publishAndScrape(node: StormProcess, name: string): Promise<void> {
  const token = await node.token("mpub");
  const channels = [`${name}-a`, `${name}-b`, `${name}-c`];
  for (const ch of channels) expect((await node.http("POST", "/channels", { token, body: { name: ch } })).status).toBe(201);
  const before = await scrape(node);
  const pub = await WsClient.connect(node.wsUrl, token);
  clients.push(pub);
  const N = 90;
  await pipelined(N, 16, (k) => pub.ask({ t: "pub", ch: channels[k % 3]!, cid: `m-${k}`, body: `m ${k}` }));
  const after = await scrape(node);
  const delta = (series: string) => (after.get(series) ?? NaN) - (before.get(series) ?? 0);

  // Every publish is one journal entry; publishes of one channel batch into appends, appends into statements.
  expect(delta("storm_journal_entries_total")).toBe(N);
  const appends = delta("storm_journal_appends_total");
  const statements = delta("storm_journal_group_statements_total");
  expect(appends).toBeGreaterThanOrEqual(3);
  expect(appends).toBeLessThanOrEqual(N);
  expect(statements).toBeGreaterThanOrEqual(1);
  expect(statements).toBeLessThanOrEqual(appends);
  // The histogram counts every statement, its buckets are cumulative, and time was spent.
  const count = after.get("storm_journal_group_seconds_count")!;
  expect(after.get('storm_journal_group_seconds_bucket{le="+Inf"}')).toBe(count);
  expect(count).toBe(after.get("storm_journal_group_statements_total"));
  const buckets = [...after].filter(([k]) => k.startsWith("storm_journal_group_seconds_bucket")).map(([, v]) => v);
  expect(buckets.length).toBe(12);
  for (let i = 1; i < buckets.length; i++) expect(buckets[i]).toBeGreaterThanOrEqual(buckets[i - 1]!);
  expect(after.get("storm_journal_group_seconds_sum")).toBeGreaterThan(0);
}

/** The sample names of a scrape (histograms as `_bucket`, `_sum`, `_count`), sorted. */
function sampleNames(series: Map<string, number>): string[] {
  return [...new Set([...series.keys()].map((k) => k.replace(/\{.*$/, "")))].sort();
}

/** The names `deploy/metric_names.txt` lists (the dashboard and alert rules read only these), when the file exists. */
function deployedNames(): string[] | undefined {
  const file = fileURLToPath(new URL("../deploy/metric_names.txt", import.meta.url));
  if (!existsSync(file)) return undefined;
  return readFileSync(file, "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")).sort();
}

describe("metrics", () => {
  test("metrics - the edge counts publishes, deliveries, their latency, errors, requests and activations exactly", async () => {
    const node = await startStorm({ workers: 2 });
    nodes.push(node);
    const pubToken = await node.token("kpub");
    const subToken = await node.token("ksub");
    const channels = ["kpi-a", "kpi-b", "kpi-c"];
    for (const ch of channels) expect((await node.http("POST", "/channels", { token: pubToken, body: { name: ch } })).status).toBe(201);
    const before = await scrape(node);

    const sub = await WsClient.connect(node.wsUrl, subToken);
    const pub = await WsClient.connect(node.wsUrl, pubToken);
    clients.push(sub, pub);
    for (const ch of channels) {
      await sub.ask({ t: "join", ch });
      expect((await sub.ask({ t: "sub", ch })).t).toBe("subbed");
    }
    const N = 60;
    await pipelined(N, 8, (k) => pub.ask({ t: "pub", ch: channels[k % 3]!, cid: `k-${k}`, body: `k ${k}` }));
    const viaHttp = await node.http("POST", "/channels/kpi-a/messages", { token: pubToken, body: { clientId: "k-http", body: "over http" } });
    expect(viaHttp.status).toBe(201);
    await sub.waitFor(() => channels.reduce((n, ch) => n + sub.messages(ch).length, 0) === N + 1, 15_000, "every message delivered");
    // Errors: a frame that is not JSON, a route that does not exist, a publish without a token.
    pub.send("not json");
    await pub.waitForFrame((f) => f.t === "err" && f["code"] === "bad_request");
    expect((await node.http("GET", "/no-such-route")).status).toBe(404);
    expect((await node.http("POST", "/channels/kpi-a/messages", { body: { clientId: "x", body: "x" } })).status).toBe(401);

    const after = await scrape(node);
    const delta = (series: string) => (after.get(series) ?? NaN) - (before.get(series) ?? 0);
    expect(delta('storm_connections{transport="ws"}')).toBe(2);
    expect(delta("storm_publishes_total")).toBe(N + 1);
    // One subscriber on every channel, subscribed before any publish: each message written once.
    expect(delta("storm_deliveries_total")).toBe(N + 1);
    // One latency sample per socket write that carried live messages: at least one, at most one per message.
    const samples = delta("storm_publish_deliver_seconds_count");
    expect(samples).toBeGreaterThanOrEqual(1);
    expect(samples).toBeLessThanOrEqual(N + 1);
    expect(after.get('storm_publish_deliver_seconds_bucket{le="+Inf"}')).toBe(after.get("storm_publish_deliver_seconds_count"));
    expect(delta("storm_publish_deliver_seconds_sum")).toBeGreaterThanOrEqual(0);
    expect(delta("storm_publish_deliver_seconds_sum")).toBeLessThan(15 * samples);
    expect(delta('storm_errors_total{code="bad_request"}')).toBe(1);
    expect(delta('storm_errors_total{code="not_found"}')).toBe(1);
    expect(delta('storm_errors_total{code="unauthenticated"}')).toBe(1);
    expect(delta('storm_errors_total{code="internal"}')).toBe(0);
    expect(delta('storm_http_requests_total{route="/ws",status="101"}')).toBe(2);
    expect(delta('storm_http_requests_total{route="/channels/{}/messages",status="201"}')).toBe(1);
    expect(delta('storm_http_requests_total{route="/channels/{}/messages",status="401"}')).toBe(1);
    expect(delta('storm_http_requests_total{route="unmatched",status="404"}')).toBe(1);
    // The scrape before this one: a scrape counts itself after rendering.
    expect(delta('storm_http_requests_total{route="/metrics",status="200"}')).toBe(1);
    expect(delta('storm_rate_limited_total{scope="inflight"}')).toBe(0);
    // The subscriber's session: the channels and the publisher's session (told of the channels it
    // created) were active already.
    expect(delta("storm_activations_total")).toBe(1);
    // Embedded: no cluster, no lease, no failover, but the names are exported all the same.
    expect(after.get("storm_lease_renewals_total")).toBe(0);
    expect(after.get("storm_failovers_total")).toBe(0);
    expect(after.get("storm_failover_seconds_count")).toBe(0);

    // Every response names its request: a client's id is echoed, else one is made.
    const given = await fetch(`${node.url}/healthz`, { headers: { "x-request-id": "req-42" } });
    expect(given.headers.get("x-request-id")).toBe("req-42");
    const made = await fetch(`${node.url}/healthz`);
    expect(made.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);

    // The list of exported names, for the dashboard and alert rules (deploy/metric_names.txt).
    const names = sampleNames(after);
    const out = process.env["STORM_METRIC_NAMES_OUT"] ?? join(tmpdir(), "storm-metric-names.txt");
    writeFileSync(out, `${names.join("\n")}\n`);
    const deployed = deployedNames();
    if (deployed) expect(names).toEqual(deployed);
  }, 60_000);

  test("metrics - logs are JSON lines with a level, the node and, for HTTP, the request id", async () => {
    const node = await startStorm({ workers: 1, args: ["--log-level", "debug"] });
    nodes.push(node);
    await fetch(`${node.url}/no-such-route`, { headers: { "x-request-id": "log-7" } });
    await until(() => logLines(node).some((l) => l["requestId"] === "log-7"), 10_000, "the request's log line");
    const line = logLines(node).find((l) => l["requestId"] === "log-7")!;
    expect(line).toMatchObject({ level: "debug", msg: "http request", node: "n1", route: "unmatched", status: 404 });
    expect(Date.parse(String(line["ts"]))).toBeGreaterThan(0);
  }, 60_000);

  test("metrics - embedded: the storage thread's group commit counts every published entry", async () => {
    const node = await startStorm({ workers: 2 });
    nodes.push(node);
    await publishAndScrape(node, "memb");
  }, 60_000);

  test.skipIf(skipPostgres)("metrics - PostgreSQL: the workers' group commits add up to every published entry", async () => {
    pg = await startPostgres();
    const node = await startStorm({ workers: 2, args: ["--postgres", pg.url] });
    nodes.push(node);
    await publishAndScrape(node, "mpg");
  }, 60_000);
});

/** The node's stderr as JSON log lines: every line must parse. */
function logLines(node: StormProcess): Array<Record<string, unknown>> {
  return node.stderr().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}
