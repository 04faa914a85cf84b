import { describe, expect, it } from "vitest";
import type { JournalEntry } from "../storage/store.ts";
import { Connection, type SocketLike } from "./connection.ts";
import { Fanout } from "./fanout.ts";

const entries = (from: number, to: number): JournalEntry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ seq: from + i, clientId: `c${from + i}`, sender: "a", body: "x", ts: 0 }));

function socket() {
  const sent: unknown[] = [];
  const s: SocketLike & { sent: unknown[]; closedWith?: number } = {
    sent,
    bufferedAmount: 0,
    send: (d: string) => void sent.push(JSON.parse(d)),
    close(code: number) {
      s.closedWith = code;
    },
  };
  return s;
}

/** Runs deferred flushes at once so each push is observable immediately. */
const now = (fn: () => void) => fn();

function seqsSent(s: { sent: unknown[] }): number[] {
  const frames = s.sent.flatMap((f) => (Array.isArray(f) ? f : [f])) as Array<{ t: string; m?: JournalEntry[] }>;
  return frames.filter((f) => f.t === "msgs").flatMap((f) => f.m!.map((m) => m.seq));
}

describe("fanout", () => {
  it("fanout - a live socket gets each batch once, past its cursor only", () => {
    const f = new Fanout();
    const s = socket();
    const c = new Connection(1, { user: "a", role: "user" }, s, now, 1 << 20, 0);
    f.subscribe(c, "g", 0);
    expect(f.goLive(c, "g", c.subs.get("g")!)).toBe(true);
    f.onEvent({ type: "msgs", ch: "g", m: entries(1, 3) });
    f.onEvent({ type: "msgs", ch: "g", m: entries(1, 3) });
    f.onEvent({ type: "msgs", ch: "g", m: entries(2, 5) });
    expect(seqsSent(s)).toEqual([1, 2, 3, 4, 5]);
  });

  it("fanout - batches arriving during catch-up are held, then released without gap or duplicate", () => {
    const f = new Fanout();
    const s = socket();
    const c = new Connection(1, { user: "a", role: "user" }, s, now, 1 << 20, 0);
    f.subscribe(c, "g", 2);
    f.onEvent({ type: "msgs", ch: "g", m: entries(5, 6) });
    expect(seqsSent(s)).toEqual([]);
    const sub = c.subs.get("g")!;
    sub.cursor = 5; // catch-up sent 3..5
    expect(f.goLive(c, "g", sub)).toBe(true);
    f.onEvent({ type: "msgs", ch: "g", m: entries(7, 7) });
    expect(seqsSent(s)).toEqual([6, 7]);
  });

  it("fanout - held batches that leave a gap keep the socket in catch-up", () => {
    const f = new Fanout();
    const c = new Connection(1, { user: "a", role: "user" }, socket(), now, 1 << 20, 0);
    f.subscribe(c, "g", 0);
    f.onEvent({ type: "msgs", ch: "g", m: entries(5, 6) });
    expect(f.goLive(c, "g", c.subs.get("g")!)).toBe(false);
    expect(c.subs.get("g")!.live).toBe(false);
  });

  it("fanout - a live socket that would see a gap is closed with a resumable code", () => {
    const f = new Fanout();
    const s = socket();
    const c = new Connection(1, { user: "a", role: "user" }, s, now, 1 << 20, 0);
    f.subscribe(c, "g", 0);
    f.goLive(c, "g", c.subs.get("g")!);
    f.onEvent({ type: "msgs", ch: "g", m: entries(3, 4) });
    expect(s.closedWith).toBe(4100);
    expect(seqsSent(s)).toEqual([]);
  });

  it("connection - a slow consumer is disconnected with slow_consumer instead of buffering", () => {
    const s = socket();
    (s as { bufferedAmount: number }).bufferedAmount = 2_000;
    const c = new Connection(1, { user: "a", role: "user" }, s, now, 1_000, 0);
    c.push("{}");
    expect(s.closedWith).toBe(4100);
    expect(s.sent).toEqual([]);
  });

  it("fanout - one batch is encoded once for all sockets in step", () => {
    const f = new Fanout();
    const a = socket();
    const b = socket();
    const sent: string[] = [];
    const spy = (s: ReturnType<typeof socket>) => ({ ...s, send: (d: string) => void sent.push(d) });
    const ca = new Connection(1, { user: "a", role: "user" }, spy(a), now, 1 << 20, 0);
    const cb = new Connection(2, { user: "b", role: "user" }, spy(b), now, 1 << 20, 0);
    for (const c of [ca, cb]) {
      f.subscribe(c, "g", 0);
      f.goLive(c, "g", c.subs.get("g")!);
    }
    f.onEvent({ type: "msgs", ch: "g", m: entries(1, 2) });
    expect(sent).toHaveLength(2);
    expect(sent[0]).toBe(sent[1]);
  });
});
