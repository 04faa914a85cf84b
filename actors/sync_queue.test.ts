import { describe, expect, it } from "vitest";
import { EMPTY_QUEUE, type SyncQueueState, syncQueue } from "./sync_queue.ts";

const limits = { maxEvents: 3, maxAgeMs: 1_000 };
const push = (q: SyncQueueState, ts: number) => syncQueue.push(q, { type: "t", payload: ts, timestamp: ts, userId: "u" }, ts, limits)[0];

describe("sync queue", () => {
  it("sync queue - a read after a cursor returns what follows it, numbered without gaps", () => {
    let q = EMPTY_QUEUE;
    for (const ts of [10, 20, 30]) q = push(q, ts);
    expect(syncQueue.afterPosition(q, 1)).toMatchObject({ items: [{ n: 2, id: "q2" }, { n: 3 }], last: 3, dropped: 0 });
  });

  it("sync queue - overflow past the count bound is reported as dropped to a cursor behind it", () => {
    let q = EMPTY_QUEUE;
    for (const ts of [10, 20, 30, 40, 50]) q = push(q, ts);
    expect(q.items.map((i) => i.n)).toEqual([3, 4, 5]);
    expect(syncQueue.afterPosition(q, 0)).toMatchObject({ dropped: 2, items: [{ n: 3 }, { n: 4 }, { n: 5 }] });
    expect(syncQueue.afterPosition(q, 2).dropped).toBe(0);
  });

  it("sync queue - events older than the age bound fall off and a timestamp read before them is told", () => {
    let q = push(push(EMPTY_QUEUE, 100), 200);
    q = push(q, 1_500);
    expect(q.items.map((i) => i.n)).toEqual([3]);
    expect(syncQueue.since(q, 150)).toMatchObject({ dropped: 2, items: [{ n: 3 }] });
    expect(syncQueue.since(q, 300)).toMatchObject({ dropped: 0, items: [{ n: 3 }] });
  });
});
