import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { deployedExprs, listedNames, unknownNames } from "../deploy/promql_names.ts";
import { type PostgresServer, skipPostgres, startPostgres } from "./harness/postgres.ts";
import { type StormProcess, startStorm } from "./harness/storm_process.ts";
import { SseClient } from "./harness/sse_client.ts";
import { until } from "./harness/until.ts";
import { pipelined, WsClient } from "./harness/ws_client.ts";

/**
 * `GET /metrics` reports the seed's KPIs as seen by the node's edge over every transport
 * (publishes, deliveries by transport and their latency, errors by code, HTTP requests by route and
 * status, rate-limit refusals, connections by transport, activations), checked against what clients
 * did here, and the group commit of the node's journal: statements, appends, entries and
 * a histogram of the statements' wall time, summed over the threads that commit (the storage
 * thread embedded, every actor worker on PostgreSQL). Checked against publishes counted here.
 */
const nodes: StormProcess[] = [];
const clients: WsClient[] = [];
const streams: SseClient[] = [];
let pg: PostgresServer | undefined;

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  for (const s of streams) s.close();
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

/** The header of `deploy/metric_names.txt`, which this test regenerates with `STORM_METRIC_NAMES_OUT=deploy/metric_names.txt`. */
const NAMES_HEADER = `# Every sample name a Storm node exports on /metrics, one a line (histograms: _bucket, _sum, _count).
# Generated from a running node: STORM_METRIC_NAMES_OUT=deploy/metric_names.txt npx vitest run tests/metrics.test.ts
# (after npm run build). tests/metrics.test.ts fails when a node's /metrics and this list differ, and when
# the Grafana dashboard or the alert rules read a name the node does not export; deploy/dashboard.test.ts
# checks the dashboard and the rules against this list without a node.
`;

describe("metrics", () => {
  test("metrics - every transport counts: publishes, deliveries by transport, their latency, errors, requests by route, rate limits, connections", async () => {
    const node = await startStorm({ workers: 2, args: ["--rl-api-user", "3/600"] });
    nodes.push(node);
    const pubToken = await node.token("kpub");
    const subToken = await node.token("ksub");
    const limited = await node.token("klimit");
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
    const sse = await SseClient.open(node.url, "ch=kpi-a:0", { token: subToken });
    streams.push(sse);
    await sse.waitFor(() => sse.events.some((e) => e.frame.t === "subbed"), 10_000, "the SSE stream's subbed");
    const N = 60;
    await pipelined(N, 8, (k) => pub.ask({ t: "pub", ch: channels[k % 3]!, cid: `k-${k}`, body: `k ${k}` }));
    // The same command over REST and over POST /cmd: each is one more publish to kpi-a.
    const viaRest = await node.http("POST", "/channels/kpi-a/messages", { token: pubToken, body: { clientId: "k-rest", body: "over rest" } });
    expect(viaRest.status).toBe(201);
    const viaCmd = await node.http("POST", "/cmd", { token: pubToken, body: { t: "pub", id: 1, ch: "kpi-a", cid: "k-cmd", body: "over cmd" } });
    expect(viaCmd.body).toEqual([expect.objectContaining({ t: "ack", id: 1 })]);
    const total = N + 2;
    await sub.waitFor(() => channels.reduce((n, ch) => n + sub.messages(ch).length, 0) === total, 15_000, "every message delivered");
    const onA = N / 3 + 2;
    await sse.waitFor(() => sse.events.flatMap((e) => (e.frame["m"] as unknown[] | undefined) ?? []).length === onA, 15_000, "kpi-a over SSE");
    // A long-poll from the start of kpi-b (answered at once: 20 messages of history), and /api/sync's poll (every message of the caller's channels).
    const polled = await node.http("GET", "/poll?ch=kpi-b:0&wait=0", { token: subToken });
    expect(polled.status).toBe(200);
    const synced = await node.http("GET", "/api/sync/poll", { token: subToken });
    // Besides the channels' messages, the caller's queue: their joins (user events).
    expect((synced.body.messages as Array<{ type: string }>).filter((m) => m.type === "message")).toHaveLength(total);
    // A long-poll that waits (nothing new on kpi-c) is a poll connection while it waits.
    const waiting = new AbortController();
    const lastC = (await node.http("GET", "/channels/kpi-c/messages?after=0", { token: subToken })).body.last as number;
    const pending = fetch(`${node.url}/poll?ch=kpi-c:${lastC}&wait=30`, { headers: { authorization: `Bearer ${subToken}` }, signal: waiting.signal }).catch(() => undefined);
    await until(async () => (await scrape(node)).get('storm_connections{transport="poll"}') === 1, 10_000, "the waiting poll counted");
    // Errors: a frame that is not JSON, a route that does not exist, a publish without a token, a user past their /api limit.
    pub.send("not json");
    await pub.waitForFrame((f) => f.t === "err" && f["code"] === "bad_request");
    expect((await node.http("GET", "/no-such-route")).status).toBe(404);
    expect((await node.http("POST", "/channels/kpi-a/messages", { body: { clientId: "x", body: "x" } })).status).toBe(401);
    for (let i = 0; i < 3; i++) expect((await node.http("GET", "/api/sync/status", { token: limited })).status).toBe(200);
    expect((await node.http("GET", "/api/sync/status", { token: limited })).status).toBe(429);

    const after = await scrape(node);
    waiting.abort();
    await pending;
    const delta = (series: string) => (after.get(series) ?? NaN) - (before.get(series) ?? 0);
    expect(delta('storm_connections{transport="ws"}')).toBe(2);
    expect(delta('storm_connections{transport="sse"}')).toBe(1);
    expect(delta('storm_connections{transport="poll"}')).toBe(1);
    expect(delta("storm_publishes_total")).toBe(total);
    // Each client subscribed from the channel's start: every message written once to each.
    expect(delta('storm_deliveries_total{transport="ws"}')).toBe(total);
    expect(delta('storm_deliveries_total{transport="sse"}')).toBe(onA);
    expect(delta('storm_deliveries_total{transport="poll"}')).toBe(N / 3);
    expect(delta('storm_deliveries_total{transport="sync"}')).toBe(total);
    // One latency sample per write that carried live messages (WebSocket and SSE here; the polls read history).
    const samples = delta("storm_publish_deliver_seconds_count");
    expect(samples).toBeGreaterThanOrEqual(2);
    expect(samples).toBeLessThanOrEqual(total + onA);
    expect(after.get('storm_publish_deliver_seconds_bucket{le="+Inf"}')).toBe(after.get("storm_publish_deliver_seconds_count"));
    expect(delta("storm_publish_deliver_seconds_sum")).toBeGreaterThanOrEqual(0);
    expect(delta("storm_publish_deliver_seconds_sum")).toBeLessThan(15 * samples);
    expect(delta('storm_errors_total{code="bad_request"}')).toBe(1);
    expect(delta('storm_errors_total{code="not_found"}')).toBe(1);
    expect(delta('storm_errors_total{code="unauthenticated"}')).toBe(1);
    expect(delta('storm_errors_total{code="rate_limited"}')).toBe(1);
    expect(delta('storm_errors_total{code="internal"}')).toBe(0);
    expect(delta('storm_rate_limited_total{scope="api_user"}')).toBe(1);
    expect(delta('storm_rate_limited_total{scope="publish_user"}')).toBe(0);
    expect(delta('storm_http_requests_total{route="/ws",status="101"}')).toBe(2);
    expect(delta('storm_http_requests_total{route="/sse",status="200"}')).toBe(1);
    expect(delta('storm_http_requests_total{route="/poll",status="200"}')).toBe(1);
    expect(delta('storm_http_requests_total{route="/cmd",status="200"}')).toBe(1);
    expect(delta('storm_http_requests_total{route="/api/sync/poll",status="200"}')).toBe(1);
    expect(delta('storm_http_requests_total{route="/api/sync/status",status="200"}')).toBe(3);
    expect(delta('storm_http_requests_total{route="/api/sync/status",status="429"}')).toBe(1);
    expect(delta('storm_http_requests_total{route="/channels/{}/messages",status="201"}')).toBe(1);
    expect(delta('storm_http_requests_total{route="/channels/{}/messages",status="401"}')).toBe(1);
    expect(delta('storm_http_requests_total{route="unmatched",status="404"}')).toBe(1);
    expect(delta('storm_rate_limited_total{scope="inflight"}')).toBe(0);
    // The subscriber's session and the limited user's (the channels, and the publisher's session,
    // told of the channels it created, were active already).
    expect(delta("storm_activations_total")).toBe(2);
    // Embedded: no cluster, no lease, no failover, but the names are exported all the same.
    expect(after.get("storm_lease_renewals_total")).toBe(0);
    expect(after.get("storm_lease_lost_total")).toBe(0);
    expect(after.get("storm_rejoins_total")).toBe(0);
    expect(after.get("storm_failovers_total")).toBe(0);
    expect(after.get("storm_failover_seconds_count")).toBe(0);

    // Every response names its request: a client's id is echoed, else one is made.
    const given = await fetch(`${node.url}/healthz`, { headers: { "x-request-id": "req-42" } });
    expect(given.headers.get("x-request-id")).toBe("req-42");
    const made = await fetch(`${node.url}/healthz`);
    expect(made.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);

    // The names this node exports: deploy/metric_names.txt lists exactly them, and the dashboard
    // and alert rules read no other.
    const names = sampleNames(after);
    const out = process.env["STORM_METRIC_NAMES_OUT"] ?? join(tmpdir(), "storm-metric-names.txt");
    writeFileSync(out, `${NAMES_HEADER}\n${names.join("\n")}\n`);
    expect([...listedNames()].sort()).toEqual(names);
    const live = new Set(names);
    const deployed = deployedExprs();
    expect(unknownNames(deployed.dashboard, live)).toEqual([]);
    expect(unknownNames(deployed.rules, live)).toEqual([]);
  }, 90_000);

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
