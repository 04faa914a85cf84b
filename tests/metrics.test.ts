import { afterAll, describe, expect, test } from "vitest";
import { type PostgresServer, skipPostgres, startPostgres } from "./harness/postgres.ts";
import { type StormProcess, startStorm } from "./harness/storm_process.ts";
import { pipelined, WsClient } from "./harness/ws_client.ts";

/**
 * `GET /metrics` reports the group commit of the node's journal: statements, appends, entries and
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

describe("metrics", () => {
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
