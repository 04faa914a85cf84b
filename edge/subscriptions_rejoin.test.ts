import { describe, expect, it, vi } from "vitest";
import { UnavailableError } from "../runtime/core/errors.ts";
import { Connection, type SocketLike } from "./connection.ts";
import { Fanout } from "./fanout.ts";
import type { ActorGateway } from "./gateway.ts";
import { SendTurn } from "./send_turn.ts";
import { RESUBSCRIBE_TRIES, resubscribeDelay, Subscriptions } from "./subscriptions.ts";

/** A gateway whose channel holds seqs 1..last and which fails every ask while `down` (a node without a lease). */
function gateway(last: () => number) {
  const told: Array<{ to: string; msg: Record<string, unknown> }> = [];
  const subscribes: Array<{ edge: string; after: number }> = [];
  /** Every message sent, told or asked, in order. */
  const sent: Array<{ to: string; msg: Record<string, unknown> }> = [];
  const g = {
    edgeId: "edge:n1.a",
    down: false,
    told,
    subscribes,
    sent,
    tell(to: string, msg: unknown) {
      told.push({ to, msg: msg as Record<string, unknown> });
      sent.push({ to, msg: msg as Record<string, unknown> });
    },
    async ask<T>(to: string, msg: unknown): Promise<T> {
      if (g.down) throw new UnavailableError("no lease");
      sent.push({ to, msg: msg as Record<string, unknown> });
      const m = msg as { type: string; edge?: string; after: number };
      if (m.type === "subscribe") subscribes.push({ edge: m.edge!, after: m.after });
      const msgs = Array.from({ length: Math.max(0, last() - m.after) }, (_, i) => ({ seq: m.after + 1 + i, clientId: `c${m.after + 1 + i}`, sender: "a", body: "x", ts: 0 }));
      return { msgs, last: last(), first: 1, more: false, truncated: false, epoch: 1 } as unknown as T;
    },
  };
  return g as typeof g & ActorGateway;
}

function socket() {
  const s: SocketLike & { seqs: number[]; closedWith?: number } = {
    seqs: [],
    bufferedAmount: 0,
    send(d) {
      const frames = [JSON.parse(String(d))].flat() as Array<{ t: string; m?: Array<{ seq: number }> }>;
      for (const f of frames) if (f.t === "msgs") s.seqs.push(...f.m!.map((m) => m.seq));
    },
    close(code: number) {
      s.closedWith = code;
    },
  };
  return s;
}

/** A stream of user `u` subscribed to channel `g` from seq 0, over a gateway whose channel ends at `last()`. */
async function subscribed(last: () => number) {
  const g = gateway(last);
  const fanout = new Fanout();
  const subs = new Subscriptions(g, fanout);
  const s = socket();
  const conn = new Connection(1, { user: "u", role: "user", exp: Infinity }, s, new SendTurn((fn) => fn()), 1 << 20, 0);
  fanout.addUser(conn);
  await subs.subscribe(conn, 1, "g", 0);
  return { g, subs, s };
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

describe("subscriptions across a rejoin", () => {
  it("subscriptions - without a lease a stream stays open and idle; on rejoin it registers under the new edge and resumes from its cursor", async () => {
    let last = 3;
    const { g, subs, s } = await subscribed(() => last);
    expect(s.seqs).toEqual([1, 2, 3]);

    // The lease is lost: asks fail. A move seen meanwhile does not make the stream give up.
    g.down = true;
    subs.suspend();
    subs.placementChanged("g", 2);
    await settle();
    expect(s.closedWith).toBeUndefined();
    last = 6; // published elsewhere while this node had no lease

    g.down = false;
    g.edgeId = "edge:n1.b";
    g.sent.length = 0;
    subs.resume("edge:n1.a");
    await settle();
    expect(s.seqs).toEqual([1, 2, 3, 4, 5, 6]); // no gap, no duplicate
    expect(s.closedWith).toBeUndefined();
    expect(g.subscribes.at(-1)).toEqual({ edge: "edge:n1.b", after: 3 });
    // The old edge is forgotten by the channel (before the stream registers again) and by the
    // session, which then learns the new one.
    const to = (actor: string) => g.sent.filter((m) => m.to === actor).map((m) => `${String(m.msg["type"])} ${String(m.msg["edge"])}`);
    expect(to("channel:g")).toEqual(["edge_down edge:n1.a", "subscribe edge:n1.b", "presence edge:n1.b"]);
    expect(to("session:u")).toEqual(["edge_down edge:n1.a", "connect edge:n1.b"]);
  });

  it("subscriptions - a stream waits 11-22 s in all for a new activation before it gives up (3.1 s was shorter than a busy rejoin)", () => {
    const total = (r: number) => Array.from({ length: RESUBSCRIBE_TRIES }, (_, a) => resubscribeDelay(a, () => r)!).reduce((x, y) => x + y, 0);
    expect(total(0)).toBeGreaterThanOrEqual(11_000);
    expect(total(0.999999)).toBeLessThanOrEqual(22_500);
    expect(resubscribeDelay(RESUBSCRIBE_TRIES)).toBeUndefined();
    // Jittered: streams that failed together do not retry together.
    expect(resubscribeDelay(3, () => 0)).toBe(400);
    expect(resubscribeDelay(3, () => 1)).toBe(800);
  });

  it("subscriptions - a move whose activation stays unreachable for 8 s keeps the stream open, and it resumes once reachable", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    try {
      let last = 2;
      const { g, subs, s } = await subscribed(() => last);
      g.down = true;
      last = 4;
      subs.placementChanged("g", 2);
      for (let t = 0; t < 8_000; t += 250) {
        await settle();
        await vi.advanceTimersByTimeAsync(250);
      }
      expect(s.closedWith).toBeUndefined();
      g.down = false;
      for (let t = 0; t < 5_000 && s.seqs.length < 4; t += 250) {
        await settle();
        await vi.advanceTimersByTimeAsync(250);
      }
      expect(s.seqs).toEqual([1, 2, 3, 4]);
      expect(s.closedWith).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });
});
