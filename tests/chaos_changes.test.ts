import { afterAll, beforeAll, expect, test } from "vitest";
import { ChaosClient, type Recorded } from "../tools/chaos/chaos_client.ts";
import { checkHistory } from "../tools/checker/check.ts";
import { parseHistoryEvent } from "../tools/checker/history.ts";
import type { JournalRow } from "../tools/checker/journal.ts";
import { type StormProcess, startStorm } from "./harness/storm_process.ts";
import { type Message, StormClient } from "../client/index.ts";
import { nodePlatform } from "../client/platform/node.ts";

/**
 * The chaos clients edit, delete and react as well as publish, and the history checker verifies
 * those entries: a short run on one node, checked against the channel as a subscriber from seq 0
 * receives it (every entry as journaled, with its sender, kind and ref).
 */
let node: StormProcess;

beforeAll(async () => {
  node = await startStorm({ workers: 1 });
}, 60_000);

afterAll(async () => {
  await node?.stop();
});

test("chaos - clients that edit, delete and react leave a history the checker finds clean", async () => {
  const names = ["cc1", "cc2"];
  const owner = await node.token(names[0]!);
  expect((await node.http("POST", "/channels", { token: owner, body: { name: "chaos-changes", members: names } })).status).toBe(201);
  const events: Array<Record<string, unknown>> = [];
  const clients = await Promise.all(names.map(async (name) => new ChaosClient({
    name, token: await node.token(name), urls: [node.wsUrl], channels: ["chaos-changes"], ratePerSec: 40, changeShare: 0.5,
    window: 8, pubTimeoutMs: 5_000, staleMs: 5_000, log: () => {},
    record: (e: Recorded) => void events.push({ ...e, client: name }),
  })));
  const journalHas = () => events.filter((e) => e["k"] === "ack").length;
  const until = async (cond: () => boolean, what: string) => {
    for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(cond(), what).toBe(true);
  };
  await until(() => journalHas() >= 120, "120 acks");
  for (const c of clients) c.stopPublishing();
  await until(() => clients.every((c) => c.progress().outstanding === 0), "every change acked or given up");
  await until(() => clients.every((c) => c.progress().lastSeq["chaos-changes"] === Math.max(...clients.map((x) => x.progress().maxAck["chaos-changes"] ?? 0))), "deliveries caught up");
  for (const c of clients) c.close();

  // The channel as journaled: a subscriber from 0 receives every entry.
  const reader = new StormClient({ url: node.url, token: owner, platform: nodePlatform() });
  await reader.connect();
  const entries: Message[] = [];
  reader.channel("chaos-changes").on("message", (m) => entries.push(m));
  const { last } = await reader.channel("chaos-changes").subscribe(0);
  await until(() => entries.length >= last, "the whole channel read");
  reader.close();
  const rows: JournalRow[] = entries.map((w) => ({ ch: "chaos-changes", seq: w.seq, cid: w.cid, body: w.body, sender: w.from, ...(w.kind ? { kind: w.kind } : {}), ...(w.ref ? { ref: w.ref } : {}) }));

  const kinds = new Set(rows.map((r) => r.kind ?? "msg"));
  expect([...kinds].sort()).toEqual(["delete", "edit", "msg", "react"]);
  const result = checkHistory(events.map((e) => parseHistoryEvent(e)), { rows, epochs: [] });
  expect(result.violations).toEqual([]);
  // The checker does look at those entries: a forged edit of a seq that does not exist is caught.
  const forged: JournalRow = { ch: "chaos-changes", seq: rows.length + 1, cid: "forged", body: "x", kind: "edit", ref: rows.length + 5 };
  const bad = checkHistory([...events.map((e) => parseHistoryEvent(e)), parseHistoryEvent({ k: "pub", client: "cc1", ch: "chaos-changes", cid: "forged", body: "x", kind: "edit", ref: forged.ref })], { rows: [...rows, forged], epochs: [] });
  expect(bad.violations.map((v) => v.kind)).toContain("change_of_missing");
}, 60_000);
