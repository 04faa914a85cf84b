import { describe, expect, it } from "vitest";
import { Connection, type SocketLike } from "./connection.ts";
import { Fanout } from "./fanout.ts";
import type { ActorGateway } from "./gateway.ts";
import { SendTurn } from "./send_turn.ts";
import { Subscriptions } from "./subscriptions.ts";

/**
 * A gateway whose asks wait until the test answers them (`answer`), or are answered at once while
 * `auto`: so a test sees what is in flight at any moment. Every channel is empty (last seq 0).
 */
function heldGateway() {
  const pending: Array<{ to: string; msg: Record<string, unknown>; resolve(v: unknown): void }> = [];
  const sent: Array<{ to: string; type: string; edge: string }> = [];
  const reply = (msg: Record<string, unknown>) => (msg["type"] === "subscribe" || msg["type"] === "history"
    ? { msgs: [], last: 0, first: 1, more: false, truncated: false, epoch: 1 } : true);
  const g = {
    edgeId: "edge:n1.a",
    auto: true,
    pending,
    sent,
    tell(to: string, msg: unknown) {
      const m = msg as Record<string, unknown>;
      sent.push({ to, type: String(m["type"]), edge: String(m["edge"]) });
    },
    ask<T>(to: string, msg: unknown): Promise<T> {
      const m = msg as Record<string, unknown>;
      sent.push({ to, type: String(m["type"]), edge: String(m["edge"]) });
      if (g.auto) return Promise.resolve(reply(m) as T);
      return new Promise<T>((resolve) => pending.push({ to, msg: m, resolve: resolve as (v: unknown) => void }));
    },
    /** Answers every pending ask to `to`; returns how many. */
    answer(to: string): number {
      const mine = pending.filter((p) => p.to === to);
      for (const p of mine) {
        pending.splice(pending.indexOf(p), 1);
        p.resolve(reply(p.msg));
      }
      return mine.length;
    },
    inFlight: () => [...new Set(pending.map((p) => p.to))].sort(),
  };
  return g as typeof g & ActorGateway;
}

function socket(): SocketLike {
  return { bufferedAmount: 0, send() {}, close() {} };
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

/** Users u0.. each on its own connection, subscribed to the channels given per user. */
async function streams(concurrency: number, rooms: string[][]) {
  const g = heldGateway();
  const fanout = new Fanout();
  const subs = new Subscriptions(g, fanout, concurrency);
  const conns: Connection[] = [];
  for (const [i, chs] of rooms.entries()) {
    const conn = new Connection(i + 1, { user: `u${i}`, role: "user", exp: Infinity }, socket(), new SendTurn((fn) => fn()), 1 << 20, 0);
    fanout.addUser(conn);
    for (const ch of chs) await subs.subscribe(conn, undefined, ch, 0);
    conns.push(conn);
  }
  return { g, subs, fanout, conns };
}

describe("subscriptions: a rejoin's paced resume", () => {
  it("subscriptions - after a rejoin, channels resume one pool slot at a time, the one with the most local streams first, then the sessions", async () => {
    // Channel b has 3 local streams, c 2, a 1.
    const { g, subs } = await streams(1, [["a", "b", "c"], ["b", "c"], ["b"]]);
    g.auto = false;
    g.sent.length = 0;
    subs.suspend();
    g.edgeId = "edge:n1.b";
    subs.resume("edge:n1.a");
    await settle();
    const order: string[][] = [];
    for (let step = 0; step < 10 && g.pending.length > 0; step++) {
      order.push(g.inFlight());
      for (const to of g.inFlight()) g.answer(to);
      await settle();
    }
    expect(order).toEqual([["channel:b"], ["channel:c"], ["channel:a"], ["session:u0"], ["session:u1"], ["session:u2"]]);
    // Each channel forgot the old edge before its streams registered with it again, all of them.
    expect(g.sent.filter((m) => m.to === "channel:b" && m.type !== "presence").map((m) => `${m.type} ${m.edge}`)).toEqual([
      "edge_down edge:n1.a", "subscribe edge:n1.b", "subscribe edge:n1.b", "subscribe edge:n1.b",
    ]);
  });

  it("subscriptions - no more tasks run at once than the pool's limit, however many channels there are", async () => {
    const rooms = Array.from({ length: 30 }, (_, i) => [`r${i}`]);
    const { g, subs } = await streams(4, rooms);
    g.auto = false;
    subs.suspend();
    g.edgeId = "edge:n1.b";
    subs.resume("edge:n1.a");
    let most = 0;
    let answered = 0;
    for (let step = 0; step < 100 && (step === 0 || g.pending.length > 0); step++) {
      await settle();
      most = Math.max(most, g.inFlight().length);
      const first = g.inFlight()[0];
      if (first) answered += g.answer(first);
    }
    expect(most).toBe(4);
    expect(answered).toBe(30 + 30); // a subscribe per channel, then a connect per session
  });

  it("subscriptions - a channel moved while its resume waits in the queue resubscribes at once, and its queued task is skipped", async () => {
    const { g, subs } = await streams(1, [["big", "small"], ["big"]]);
    g.auto = false;
    subs.suspend();
    g.edgeId = "edge:n1.b";
    g.sent.length = 0;
    subs.resume("edge:n1.a");
    await settle();
    expect(g.inFlight()).toEqual(["channel:big"]);
    // Another node activated "small" meanwhile (its epoch rose): its stream follows now.
    subs.placementChanged("small", 7);
    await settle();
    expect(g.inFlight()).toEqual(["channel:big", "channel:small"]);
    g.answer("channel:small");
    g.answer("channel:big");
    await settle();
    // Next come the sessions: "small" is not resubscribed a second time.
    expect(g.inFlight()).toEqual(["session:u0"]);
    expect(g.sent.filter((m) => m.to === "channel:small" && m.type === "subscribe")).toHaveLength(1);
  });

  it("subscriptions - a lease lost again during a paced resume drops what is still queued; the next resume does it all", async () => {
    const { g, subs } = await streams(1, [["a", "b"], ["b"]]);
    g.auto = false;
    subs.suspend();
    g.edgeId = "edge:n1.b";
    subs.resume("edge:n1.a");
    await settle();
    expect(g.inFlight()).toEqual(["channel:b"]);
    subs.suspend();
    g.answer("channel:b");
    await settle();
    expect(g.inFlight()).toEqual([]); // nothing more starts without a lease
    g.edgeId = "edge:n1.c";
    g.sent.length = 0;
    g.auto = true;
    subs.resume("edge:n1.b");
    await settle();
    expect(g.sent.filter((m) => m.type === "subscribe").map((m) => `${m.to} ${m.edge}`).sort()).toEqual([
      "channel:a edge:n1.c", "channel:b edge:n1.c", "channel:b edge:n1.c",
    ]);
  });

  it("subscriptions - a subscribe asked without a lease and answered after the rejoin registers again under the new edge", async () => {
    const { g, subs, conns } = await streams(4, [["a"]]);
    g.auto = false;
    subs.suspend();
    // The client subscribes meanwhile; the node's router holds the ask until the rejoin.
    const done = subs.subscribe(conns[0]!, 9, "late", 0);
    await settle();
    expect(g.pending.map((p) => `${p.to} ${String(p.msg["edge"])}`)).toEqual(["channel:late edge:n1.a"]);
    g.edgeId = "edge:n1.b";
    subs.resume("edge:n1.a");
    g.answer("channel:late"); // registered the old edge, which the channel forgets on edge_down
    await done;
    await settle();
    expect(g.pending.filter((p) => p.to === "channel:late" && p.msg["type"] === "subscribe").map((p) => String(p.msg["edge"]))).toEqual(["edge:n1.b"]);
  });
});
