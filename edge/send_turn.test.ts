import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import type { JournalEntry } from "../storage/store.ts";
import { Connection, type SocketLike } from "./connection.ts";
import { Fanout } from "./fanout.ts";
import { SendTurn } from "./send_turn.ts";

const entries = (from: number, to: number): JournalEntry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ seq: from + i, clientId: `c${from + i}`, sender: "a", body: "x", ts: 0 }));

/** A fake socket that records the seqs of each WebSocket message it was given. */
function socket(): SocketLike & { messages: number[][] } {
  const messages: number[][] = [];
  return {
    messages,
    bufferedAmount: 0,
    send(d) {
      const parsed = JSON.parse(String(d)) as unknown;
      const frames = (Array.isArray(parsed) ? parsed : [parsed]) as Array<{ m: JournalEntry[] }>;
      messages.push(frames.flatMap((f) => f.m.map((m) => m.seq)));
    },
    close() {},
  };
}

/** `n` sockets subscribed live to channel g, written through one turn whose runs are deferred. */
function room(n: number, chunk: number) {
  const deferred: Array<() => void> = [];
  const turn = new SendTurn((fn) => void deferred.push(fn), chunk);
  const fanout = new Fanout();
  const sockets = Array.from({ length: n }, (_, i) => {
    const s = socket();
    const c = new Connection(i, { user: `u${i}`, role: "user", exp: Infinity }, s, turn, 1 << 20, 0);
    fanout.subscribe(c, "g", 0);
    fanout.goLive(c, "g", c.subs.get("g")!);
    return s;
  });
  /** One turn end: runs what was deferred before it (one chunk of writes). */
  const turnEnd = () => {
    for (const fn of deferred.splice(0)) fn();
  };
  return { turn, fanout, sockets, deferred, turnEnd };
}

describe("send turn", () => {
  it("send turn - a fan-out larger than a chunk is written one chunk per turn end", () => {
    const { fanout, sockets, deferred, turnEnd } = room(5, 2);
    fanout.onEvent({ type: "msgs", ch: "g", m: entries(1, 1) });
    const written = () => sockets.filter((s) => s.messages.length > 0).length;
    expect(deferred).toHaveLength(1);
    turnEnd();
    expect(written()).toBe(2);
    turnEnd();
    expect(written()).toBe(4);
    turnEnd();
    expect(written()).toBe(5);
    expect(deferred).toHaveLength(0);
  });

  it("send turn - a batch that arrives between chunks joins the unwritten sockets' message; written ones get it next", () => {
    const { fanout, sockets, turnEnd } = room(4, 2);
    fanout.onEvent({ type: "msgs", ch: "g", m: entries(1, 1) });
    turnEnd(); // sockets 0 and 1 written
    fanout.onEvent({ type: "msgs", ch: "g", m: entries(2, 3) });
    turnEnd(); // sockets 2 and 3: batches 1 and 2 in one message
    turnEnd(); // sockets 0 and 1 again: batch 2
    expect(sockets.map((s) => s.messages)).toEqual([[[1], [2, 3]], [[1], [2, 3]], [[1, 2, 3]], [[1, 2, 3]]]);
  });

  it("send turn - a later callback runs after every write queued before it, however many chunks they take", () => {
    const { turn, fanout, sockets, turnEnd } = room(5, 2);
    fanout.onEvent({ type: "msgs", ch: "g", m: entries(1, 1) });
    const writtenAtCallback: number[] = [];
    turn.later(() => void writtenAtCallback.push(sockets.filter((s) => s.messages.length > 0).length));
    turnEnd();
    turnEnd();
    expect(writtenAtCallback).toEqual([]);
    turnEnd();
    expect(writtenAtCallback).toEqual([5]);
  });

  it("send turn - a flush that throws in a chunk does not stop that chunk or the ones after it", () => {
    const deferred: Array<() => void> = [];
    const turn = new SendTurn((fn) => void deferred.push(fn), 2);
    const ran: string[] = [];
    turn.later(() => {
      throw new Error("boom");
    });
    turn.later(() => void ran.push("second"));
    turn.later(() => void ran.push("third"));
    expect(() => deferred.shift()!()).toThrow("boom");
    expect(ran).toEqual(["second"]);
    expect(deferred).toHaveLength(1);
    deferred.shift()!();
    expect(ran).toEqual(["second", "third"]);
  });

  it("send turn - under a steady stream the queue drops its written part, and every socket still gets every batch in order", () => {
    const { fanout, sockets, deferred, turnEnd } = room(2_000, 1_100);
    for (let seq = 1; seq <= 6; seq++) {
      fanout.onEvent({ type: "msgs", ch: "g", m: entries(seq, seq) });
      turnEnd();
    }
    while (deferred.length > 0) turnEnd();
    for (const s of sockets) expect(s.messages.flat()).toEqual([1, 2, 3, 4, 5, 6]);
    // Batches joined whenever a socket waited for its chunk: fewer messages than batches.
    expect(sockets.reduce((n, s) => n + s.messages.length, 0)).toBeLessThan(6 * 2_000);
  });

  it("send turn - shared messages go out as one frame built for all sockets; a socket's own reply is framed for it alone, one write too", () => {
    const deferred: Array<() => void> = [];
    const turn = new SendTurn((fn) => void deferred.push(fn));
    const turnEnd = () => {
      while (deferred.length > 0) deferred.shift()!();
    };
    const fanout = new Fanout();
    const frames: Buffer[] = [];
    const sent: string[] = [];
    const conns = [0, 1, 2].map((i) => {
      const s: SocketLike = {
        bufferedAmount: 0,
        send: (d) => void sent.push(String(d)),
        sendFrame: (wire) => void frames.push(wire),
        close() {},
      };
      const c = new Connection(i, { user: `u${i}`, role: "user", exp: Infinity }, s, turn, 1 << 20, 0);
      fanout.subscribe(c, "g", 0);
      fanout.goLive(c, "g", c.subs.get("g")!);
      return c;
    });
    fanout.onEvent({ type: "msgs", ch: "g", m: entries(1, 2) });
    turnEnd();
    expect(frames).toHaveLength(3);
    expect(new Set(frames).size).toBe(1); // the same bytes, built once
    const f = frames[0]!;
    expect(f[0]).toBe(0x81); // final text frame
    const head = f[1]! < 126 ? 2 : 4; // a small batch: 7- or 16-bit length, no mask
    expect(head === 2 ? f[1] : f.readUInt16BE(2)).toBe(f.length - head);
    const payload = JSON.parse(f.subarray(head).toString()) as { m: JournalEntry[] };
    expect(payload.m.map((m) => m.seq)).toEqual([1, 2]);
    conns[0]!.push('{"t":"ack","id":7}');
    turnEnd();
    expect(frames).toHaveLength(4);
    expect([...frames[3]!]).toEqual([0x81, 18, ...Buffer.from('{"t":"ack","id":7}')]);
    // A reply and a shared batch in one turn: one message, [reply, batch], framed for that socket.
    conns[1]!.push('{"t":"ack","id":8}');
    fanout.onEvent({ type: "msgs", ch: "g", m: entries(3, 3) });
    turnEnd();
    expect(frames).toHaveLength(7);
    const mixed = frames.find((w) => w.includes('"id":8'))!;
    const [reply, batch] = JSON.parse(mixed.subarray(2 + (mixed[1] === 126 ? 2 : 0)).toString()) as [{ id: number }, { m: JournalEntry[] }];
    expect(reply.id).toBe(8);
    expect(batch.m.map((m) => m.seq)).toEqual([3]);
    expect(sent).toEqual([]);
  });
});
