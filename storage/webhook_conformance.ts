import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Store } from "./store.ts";
import type { WebhookInput, WebhookStore } from "./webhook_store.ts";

/** The guarantees of `webhook_store.ts`, run inside `runStoreConformance` on the same store (internal). */
export function runWebhookConformance(store: () => Store & WebhookStore): void {
  describe("webhooks", () => {
    const run = randomUUID().slice(0, 8);
    const hook = (id: string): WebhookInput => ({ id, url: "http://127.0.0.1:9/h", secret: "s", events: ["message"], channels: ["a"], maxBacklog: 10, timeoutMs: 1_000 });

    it("webhooks - one node holds an endpoint's lease until it expires, and only the holder moves its position, forward only", async () => {
      const s = store();
      const id = `wh${run}a`;
      await s.createWebhook(hook(id));
      expect(await s.claimWebhook(id, "n1", 1_000, 5_000)).toBe(true);
      expect(await s.claimWebhook(id, "n2", 2_000, 6_000)).toBe(false);
      expect(await s.advanceWebhook(id, "n2", "channel:a", { seq: 3, n: 0 })).toBe(false);
      expect(await s.advanceWebhook(id, "n1", "channel:a", { seq: 3, n: 1 })).toBe(true);
      expect(await s.advanceWebhook(id, "n1", "channel:a", { seq: 2, n: 9 })).toBe(false);
      expect(await s.webhookCursor(id, "channel:a")).toEqual({ seq: 3, n: 1 });
      expect(await s.claimWebhook(id, "n2", 5_001, 9_000)).toBe(true);
      expect(await s.advanceWebhook(id, "n1", "channel:a", { seq: 4, n: 1 })).toBe(false);
      expect(await s.deleteWebhook(id)).toBe(true);
      expect(await s.webhookCursor(id, "channel:a")).toEqual({ seq: 0, n: 0 });
    });

    it("webhooks - a snapshot's events are written with it, and not by a fenced activation", async () => {
      const s = store();
      const actor = `channel:wh${run}`;
      const epoch = await s.acquireEpoch(actor, "n1");
      const ev = { type: "membership" as const, afterSeq: 0, payload: { user: "ann", joined: true }, at: 1 };
      expect(await s.saveSnapshot(actor, epoch, { seq: 0, state: { x: 1 }, events: [ev] })).toBe(true);
      await s.acquireEpoch(actor, "n2");
      expect(await s.saveSnapshot(actor, epoch, { seq: 0, state: { x: 2 }, events: [{ ...ev, payload: { user: "bob", joined: true } }] })).toBe(false);
      const events = await s.channelEvents(actor, 0, 10);
      expect(events.map((e) => [e.afterSeq, e.type, e.payload])).toEqual([[0, "membership", { user: "ann", joined: true }]]);
      expect(await s.channelEvents(actor, events[0]!.n, 10)).toEqual([]);
    });

    it("webhooks - dead letters are listed by endpoint, in order", async () => {
      const s = store();
      const id = `wh${run}d`;
      await s.createWebhook(hook(id));
      const d = await s.recordDeadLetter({ webhookId: id, channel: "a", from: "a:1", to: "a:5", count: 5, reason: "backlog", lastError: "HTTP 500" });
      expect(await s.listDeadLetters(id, 0, 10)).toEqual([d]);
      expect(await s.listDeadLetters(id, d.id, 10)).toEqual([]);
    });
  });
}
