import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestCluster, type TestCluster } from "./harness/cluster.ts";
import { WebhookReceiver } from "./harness/webhook_receiver.ts";

/**
 * Webhooks in a cluster: every node runs a deliverer, one holds an endpoint's lease; when that node
 * is SIGKILLed, another takes the lease once it expires and resumes from the stored position.
 */
describe("webhooks in a cluster", () => {
  let tc: TestCluster;
  let db: pg.Client;
  const rx = new WebhookReceiver();
  beforeAll(async () => {
    tc = await startTestCluster({
      nodes: 2, leaseMs: 6_000,
      args: ["--webhook-poll-ms", "50", "--webhook-retry-base-ms", "50", "--webhook-retry-max-ms", "400", "--webhook-lease-ms", "1500"],
    });
    await tc.waitForMembership();
    db = new pg.Client({ connectionString: tc.c.postgresUrl });
    await db.connect();
    await rx.start();
  }, 240_000);
  afterAll(async () => {
    await rx.stop();
    await db?.end();
    await tc?.stop();
  }, 60_000);

  test("webhooks - when the node delivering an endpoint is SIGKILLed, another node resumes its delivery in order", async () => {
    const admin = await tc.adminToken();
    const key = (await tc.http(0, "POST", "/admin/keys", admin, { scopes: ["admin"] })).body.key as string;
    expect((await tc.http(0, "POST", "/server/channels", key, { name: "relay", members: ["ann"] })).status).toBe(201);
    const reg = await tc.http(1, "POST", "/server/webhooks", key, { url: rx.url, events: ["message"], channels: ["relay"], timeoutMs: 300 });
    expect(reg.status, JSON.stringify(reg.body)).toBe(201);
    rx.secret = reg.body.secret as string;
    const ann = await tc.token("ann");
    const pub = async (i: number) => expect((await tc.http(0, "POST", "/channels/relay/messages", ann, { clientId: `r${i}`, body: `m${i}` })).status).toBe(201);
    for (let i = 1; i <= 3; i++) await pub(i);
    await rx.waitFor(() => rx.acknowledged().length === 3, "the first three");
    const holder = String((await db.query("SELECT owner FROM webhooks WHERE id = $1", [reg.body.id])).rows[0].owner);
    await rx.stop();
    for (let i = 4; i <= 8; i++) await pub(i);
    const dead = tc.indexOf(holder);
    tc.node(dead).proc.kill("SIGKILL");
    await rx.start();
    await rx.waitFor(() => rx.acknowledged().length === 8, "all eight from the other node", 60_000);
    expect(rx.acknowledged()).toEqual(Array.from({ length: 8 }, (_, i) => `relay:${i + 1}`));
    const now = String((await db.query("SELECT owner FROM webhooks WHERE id = $1", [reg.body.id])).rows[0].owner);
    expect(now).not.toBe(holder);
    expect(rx.deliveries.every((d) => d.signed)).toBe(true);
  }, 120_000);
});
