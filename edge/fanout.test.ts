import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import type { JournalEntry } from "../storage/store.ts";
import { Connection, type SocketLike } from "./connection.ts";
import { Fanout } from "./fanout.ts";
import { SendTurn } from "./send_turn.ts";

const entries = (from: number, to: number): JournalEntry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ seq: from + i, clientId: `c${from + i}`, sender: "a", body: "x", ts: 0 }));

/** A fake socket: `raw` is what was passed to `send`, `sent` the parsed messages. */
function socket() {
  const sent: unknown[] = [];
  const raw: Array<string | Buffer> = [];
  const s: SocketLike & { sent: unknown[]; raw: Array<string | Buffer>; closedWith?: number } = {
    sent,
    raw,
    bufferedAmount: 0,
    send(d) {
      raw.push(d);
      sent.push(JSON.parse(String(d)));
    },
    close(code: number) {
      s.closedWith = code;
    },
  };
  return s;
}

/** Runs deferred flushes at once so each push is observable immediately. */
const now = new SendTurn((fn) => fn());

function seqsSent(s: { sent: unknown[] }): number[] {
  const frames = s.sent.flatMap((f) => (Array.isArray(f) ? f : [f])) as Array<{ t: string; m?: JournalEntry[] }>;
  return frames.filter((f) => f.t === "msgs").flatMap((f) => f.m!.map((m) => m.seq));
}

describe("fanout", () => {
  it("fanout - a live socket gets each batch once, past its cursor only", () => {
    const f = new Fanout();
    const s = socket();
    const c = new Connection(1, { user: "a", role: "user", exp: Infinity }, s, now, 1 << 20, 0);
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
    const c = new Connection(1, { user: "a", role: "user", exp: Infinity }, s, now, 1 << 20, 0);
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
    const c = new Connection(1, { user: "a", role: "user", exp: Infinity }, socket(), now, 1 << 20, 0);
    f.subscribe(c, "g", 0);
    f.onEvent({ type: "msgs", ch: "g", m: entries(5, 6) });
    expect(f.goLive(c, "g", c.subs.get("g")!)).toBe(false);
    expect(c.subs.get("g")!.live).toBe(false);
  });

  it("fanout - a live socket that would see a gap is closed with a resumable code", () => {
    const f = new Fanout();
    const s = socket();
    const c = new Connection(1, { user: "a", role: "user", exp: Infinity }, s, now, 1 << 20, 0);
    f.subscribe(c, "g", 0);
    f.goLive(c, "g", c.subs.get("g")!);
    f.onEvent({ type: "msgs", ch: "g", m: entries(3, 4) });
    expect(s.closedWith).toBe(4100);
    expect(seqsSent(s)).toEqual([]);
  });

  it("connection - a slow consumer is disconnected with slow_consumer instead of buffering, told why by a last err frame", () => {
    const s = socket();
    (s as { bufferedAmount: number }).bufferedAmount = 2_000;
    const c = new Connection(1, { user: "a", role: "user", exp: Infinity }, s, now, 1_000, 0);
    c.push("{}");
    expect(s.closedWith).toBe(4100);
    // The queued frame is dropped (the client resumes from its cursor); only the reason is written.
    expect(s.sent).toEqual([{ t: "err", code: "slow_consumer", message: expect.stringMatching(/too much unsent data/), retry: "reconnect" }]);
  });

  it("fanout - sockets in step are sent the very same encoded bytes of a batch", () => {
    const f = new Fanout();
    const [a, b] = [socket(), socket()];
    for (const [i, s] of [a, b].entries()) {
      const c = new Connection(i, { user: `u${i}`, role: "user", exp: Infinity }, s, now, 1 << 20, 0);
      f.subscribe(c, "g", 0);
      f.goLive(c, "g", c.subs.get("g")!);
    }
    f.onEvent({ type: "msgs", ch: "g", m: entries(1, 2) });
    expect(a.raw[0]).toBeInstanceOf(Buffer);
    // One Buffer for both: the batch was encoded once, not once per socket.
    expect(a.raw[0]).toBe(b.raw[0]);
    expect(seqsSent(b)).toEqual([1, 2]);
  });

  it("connection - sockets that got the same batches in one turn share one encoded message", () => {
    const deferred: Array<() => void> = [];
    const turn = new SendTurn((fn) => void deferred.push(fn));
    const f = new Fanout();
    const [a, b] = [socket(), socket()];
    for (const [i, s] of [a, b].entries()) {
      const c = new Connection(i, { user: `u${i}`, role: "user", exp: Infinity }, s, turn, 1 << 20, 0);
      f.subscribe(c, "g", 0);
      f.goLive(c, "g", c.subs.get("g")!);
    }
    f.onEvent({ type: "msgs", ch: "g", m: entries(1, 2) });
    f.onEvent({ type: "msgs", ch: "g", m: entries(3, 3) });
    f.onEvent({ type: "msgs", ch: "g", m: entries(4, 6) });
    for (const fn of deferred.splice(0)) fn();
    expect(a.raw).toHaveLength(1);
    expect(a.raw[0]).toBe(b.raw[0]);
    expect(a.sent[0]).toHaveLength(3);
    expect(seqsSent(b)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("connection - a socket's own reply leaves in order with the shared frames of its turn", () => {
    const deferred: Array<() => void> = [];
    const turn = new SendTurn((fn) => void deferred.push(fn));
    const f = new Fanout();
    const [a, b] = [socket(), socket()];
    const conns = [a, b].map((s, i) => new Connection(i, { user: `u${i}`, role: "user", exp: Infinity }, s, turn, 1 << 20, 0));
    for (const c of conns) {
      f.subscribe(c, "g", 0);
      f.goLive(c, "g", c.subs.get("g")!);
    }
    f.onEvent({ type: "msgs", ch: "g", m: entries(1, 1) });
    conns[0]!.push(JSON.stringify({ t: "ack", id: 9, ch: "g", seq: 2 }));
    f.onEvent({ type: "msgs", ch: "g", m: entries(2, 2) });
    for (const fn of deferred.splice(0)) fn();
    expect((a.sent[0] as Array<{ t: string }>).map((x) => x.t)).toEqual(["msgs", "ack", "msgs"]);
    expect(seqsSent(a)).toEqual([1, 2]);
    expect(seqsSent(b)).toEqual([1, 2]);
  });

  it("fanout - each wire format is encoded once per batch and shared by the sockets that use it", () => {
    const f = new Fanout();
    const socks = [socket(), socket(), socket(), socket()];
    const encs = ["json", "compact", "json", "compact"] as const;
    socks.forEach((s, i) => {
      const c = new Connection(i, { user: `u${i}`, role: "user", exp: Infinity }, s, now, 1 << 20, 0, encs[i]);
      f.subscribe(c, "g", 0);
      f.goLive(c, "g", c.subs.get("g")!);
    });
    f.onEvent({ type: "msgs", ch: "g", m: entries(1, 3) });
    const [j1, c1, j2, c2] = socks.map((s) => s.raw[0]);
    expect(j1).toBe(j2);
    expect(c1).toBe(c2);
    expect(seqsSent(socks[0]!)).toEqual([1, 2, 3]);
    expect(socks[1]!.sent[0]).toEqual({ t: "msgs", ch: "g", seq: 1, m: [[0, "a", "x"], [0, "x"], [0, "x"]] });
  });

  it("connection - a socket whose send throws is closed, and the turn's other sockets still get their frames", () => {
    const deferred: Array<() => void> = [];
    const turn = new SendTurn((fn) => void deferred.push(fn));
    const f = new Fanout();
    const broken = socket();
    broken.send = () => {
      throw new Error("socket gone");
    };
    const [a, b] = [socket(), socket()];
    const conns = [a, broken, b].map((s, i) => new Connection(i, { user: `u${i}`, role: "user", exp: Infinity }, s, turn, 1 << 20, 0));
    for (const c of conns) {
      f.subscribe(c, "g", 0);
      f.goLive(c, "g", c.subs.get("g")!);
    }
    f.onEvent({ type: "msgs", ch: "g", m: entries(1, 2) });
    for (const fn of deferred.splice(0)) fn();
    expect(broken.closedWith).toBe(1011);
    expect(conns[1]!.closed).toBe(true);
    expect(seqsSent(a)).toEqual([1, 2]);
    expect(seqsSent(b)).toEqual([1, 2]);
  });

  it("send turn - a deferred callback that throws does not stop the turn; its error surfaces after", () => {
    const deferred: Array<() => void> = [];
    const turn = new SendTurn((fn) => void deferred.push(fn));
    const ran: string[] = [];
    turn.later(() => void ran.push("first"));
    turn.later(() => {
      throw new Error("boom");
    });
    turn.later(() => void ran.push("third"));
    expect(() => deferred.splice(0).forEach((fn) => fn())).toThrow("boom");
    expect(ran).toEqual(["first", "third"]);
    // The next turn is scheduled afresh.
    turn.later(() => void ran.push("next"));
    expect(deferred).toHaveLength(1);
  });

  it("fanout - a user's sockets all get user events, and the last one to leave is reported", () => {
    const f = new Fanout();
    const [a, b, c] = [socket(), socket(), socket()];
    const conn = (id: number, s: SocketLike, user: string) => new Connection(id, { user, role: "user", exp: Infinity }, s, now, 1 << 20, 0);
    const [ca, cb, cc] = [conn(1, a, "u"), conn(2, b, "u"), conn(3, c, "v")];
    for (const x of [ca, cb, cc]) f.addUser(x);
    expect(f.sockets()).toBe(3);
    expect(f.connectionsOf("u")).toEqual([ca, cb]);
    f.onEvent({ type: "user", user: "u", event: { t: "read", ch: "g", seq: 4 } });
    expect([a.sent.length, b.sent.length, c.sent.length]).toEqual([1, 1, 0]);
    expect(f.removeUser(ca)).toBe(false);
    expect(f.connectionsOf("u")).toEqual([cb]);
    f.onEvent({ type: "user", user: "u", event: { t: "read", ch: "g", seq: 5 } });
    expect([a.sent.length, b.sent.length]).toEqual([1, 2]);
    expect(f.removeUser(ca)).toBe(false); // already gone: nothing changes
    expect(f.removeUser(cb)).toBe(true);
    expect(f.connectionsOf("u")).toEqual([]);
    expect(f.sockets()).toBe(1);
  });
});

