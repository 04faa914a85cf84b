import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import type { SubscribeReply } from "../actors/messages.ts";
import type { JournalEntry } from "../storage/store.ts";
import { Connection } from "./connection.ts";
import { Fanout } from "./fanout.ts";
import { Dispatcher } from "./dispatcher.ts";
import { RejectedError } from "../runtime/core/errors.ts";
import { FakeClock } from "../runtime/core/clock.ts";
import { EdgeMetrics } from "./edge_metrics.ts";
import { FrameHandler } from "./frame_handler.ts";
import { Subscriptions } from "./subscriptions.ts";
import { SendTurn } from "./send_turn.ts";
import type { ActorGateway } from "./gateway.ts";

interface PendingAsk {
  to: string;
  msg: { type: string; after?: number };
  resolve(v: unknown): void;
  reject(err: unknown): void;
}

/** A gateway whose asks wait until the test answers them, in any order it likes. */
function gateway() {
  const asks: PendingAsk[] = [];
  const g: ActorGateway = {
    edgeId: "edge:n1",
    tell: () => {},
    ask: <T>(to: string, msg: unknown) =>
      new Promise<T>((resolve, reject) => asks.push({ to, msg: msg as PendingAsk["msg"], resolve: resolve as (v: unknown) => void, reject })),
  };
  return { g, asks };
}

/** The WebSocket adapter over the dispatcher, and the subscriptions it drives. */
const noReauth = async (): Promise<string> => {
  throw new Error("not used by these tests");
};

function transport(g: ActorGateway, fanout = new Fanout(), metrics?: EdgeMetrics) {
  const subs = new Subscriptions(g, fanout);
  const frames = new FrameHandler(new Dispatcher(g, subs, { list: async () => [], search: async () => ({ hits: [] }) }, undefined, metrics), noReauth, metrics);
  return { subs, frames, fanout };
}

const entries = (from: number, to: number): JournalEntry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ seq: from + i, clientId: `c${from + i}`, sender: "a", body: "x", ts: 0 }));

const page = (epoch: number, last: number, from = 1): SubscribeReply => ({ epoch, last, msgs: entries(from, last), more: false, truncated: false, first: 1 });

function socketFrames() {
  const frames: Array<{ t: string; m?: JournalEntry[] }> = [];
  return {
    frames,
    socket: { bufferedAmount: 0, send: (d: string | Buffer) => void frames.push(...[JSON.parse(String(d))].flat()), close() {} },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));
/** A socket subscribed to "g" at activation epoch 1 that has received seqs 1-2 and is live. */
async function liveAfter2() {
  const { g, asks } = gateway();
  const { frames: handler, subs } = transport(g);
  const { frames, socket } = socketFrames();
  const conn = new Connection(1, { user: "a", role: "user", exp: Infinity }, socket, new SendTurn((fn) => fn()), 1 << 20, 0);
  handler.handle(conn, { t: "sub", id: 1, ch: "g", after: 0 });
  await tick();
  asks[0]!.resolve(page(1, 2));
  await tick();
  return { handler: subs, asks, frames };
}

describe("frame handler", () => {
  it("subscribe - a channel move while a sub is pending sends nothing before subbed, then resumes at the new activation", async () => {
    const { g, asks } = gateway();
    const fanout = new Fanout();
    const { frames: handler, subs } = transport(g, fanout);
    const { frames, socket } = socketFrames();
    const conn = new Connection(1, { user: "a", role: "user", exp: Infinity }, socket, new SendTurn((fn) => fn()), 1 << 20, 0);
    handler.handle(conn, { t: "sub", id: 7, ch: "g", after: 0 });
    await tick();
    expect(asks.map((a) => a.msg.type)).toEqual(["subscribe"]);

    // The channel gets a new activation (epoch 2) before the first one (epoch 1) answers.
    subs.placementChanged("g", 2);
    await tick();
    expect(asks).toHaveLength(1);

    asks[0]!.resolve(page(1, 3));
    await tick();
    expect(frames[0]).toMatchObject({ t: "subbed", id: 7 });
    // The answer came from a superseded activation: the socket registers with the new one.
    expect(asks.map((a) => a.msg.type)).toEqual(["subscribe", "subscribe"]);
    asks[1]!.resolve(page(2, 5));
    await tick();
    const seqs = frames.filter((f) => f.t === "msgs").flatMap((f) => f.m!.map((m) => m.seq));
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
  });

  it("subscribe - a confirmed subscription follows its channel to a new activation from its cursor", async () => {
    const { handler, asks, frames } = await liveAfter2();
    handler.placementChanged("g", 3);
    await tick();
    expect(asks[1]!.msg).toMatchObject({ type: "subscribe", after: 2 });
    asks[1]!.resolve(page(3, 4, 3));
    await tick();
    const seqs = frames.filter((f) => f.t === "msgs").flatMap((f) => f.m!.map((m) => m.seq));
    expect(seqs).toEqual([1, 2, 3, 4]);
  });

  it("subscribe - a position past the channel's end resumes from the end, with the batches that reached the edge before the sub's answer was read", async () => {
    const { g, asks } = gateway();
    const fanout = new Fanout();
    const { frames: handler } = transport(g, fanout);
    const { frames, socket } = socketFrames();
    let closed: number | undefined;
    const conn = new Connection(1, { user: "a", role: "user", exp: Infinity }, { ...socket, close: (code: number) => void (closed = code) }, new SendTurn((fn) => fn()), 1 << 20, 0);
    handler.handle(conn, { t: "sub", id: 1, ch: "g", after: 10 });
    await tick();
    // The channel ends at 6 and commits 7-8 right after answering: the worker's answer and that
    // batch arrive in one message, so the batch reaches the fan-out before the answer is read.
    asks[0]!.resolve(page(1, 6));
    fanout.onEvent({ type: "msgs", ch: "g", m: entries(7, 8) });
    await tick();
    fanout.onEvent({ type: "msgs", ch: "g", m: entries(9, 9) });
    expect(frames[0]).toMatchObject({ t: "subbed", id: 1, last: 6 });
    expect(frames.filter((f) => f.t === "msgs").flatMap((f) => f.m!.map((m) => m.seq))).toEqual([7, 8, 9]);
    expect(closed).toBeUndefined();
  });

  it("subscribe - a socket whose edge the channel dropped resubscribes from its cursor and pages what it missed", async () => {
    const { handler, asks, frames } = await liveAfter2();
    // same activation (no new epoch): the channel stopped sending to this edge, seqs 3-5 never came
    handler.resync("g");
    await tick();
    expect(asks[1]!.msg).toMatchObject({ type: "subscribe", after: 2 });
    asks[1]!.resolve(page(1, 5));
    await tick();
    const seqs = frames.filter((f) => f.t === "msgs").flatMap((f) => f.m!.map((m) => m.seq));
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
  });

  it("metrics - a socket write counts its messages and samples the age of its first live one, not of history", async () => {
    const { g, asks } = gateway();
    const clock = new FakeClock(10_000);
    const metrics = new EdgeMetrics(clock);
    const fanout = new Fanout();
    const { frames: handler } = transport(g, fanout, metrics);
    const { frames, socket } = socketFrames();
    const conn = new Connection(1, { user: "a", role: "user", exp: Infinity }, socket, new SendTurn((fn) => fn()), 1 << 20, 0, "json", metrics.sink("ws"));
    handler.handle(conn, { t: "sub", id: 1, ch: "g", after: 0 });
    await tick();
    asks[0]!.resolve(page(1, 3));
    await tick();
    // Three messages of history: delivered, but their age is not a latency.
    expect(metrics.deliveries.get(["ws"])).toBe(3);
    expect(metrics.publishDeliver.count).toBe(0);
    const live = entries(4, 5).map((e) => ({ ...e, ts: 9_750 }));
    fanout.onEvent({ type: "msgs", ch: "g", m: live });
    expect(frames.filter((f) => f.t === "msgs").flatMap((f) => f.m!.map((m) => m.seq))).toEqual([1, 2, 3, 4, 5]);
    expect(metrics.deliveries.get(["ws"])).toBe(5);
    expect(metrics.deliveries.get(["sse"])).toBe(0);
    expect(metrics.publishDeliver.count).toBe(1);
    expect(metrics.publishDeliver.sum).toBeCloseTo(0.25);
  });

  it("metrics - an error that crosses the dispatcher and then the transport counts once, by code; an acked publish counts", async () => {
    const { g, asks } = gateway();
    const metrics = new EdgeMetrics(new FakeClock());
    const { frames: handler } = transport(g, new Fanout(), metrics);
    const { frames, socket } = socketFrames();
    const conn = new Connection(1, { user: "a", role: "user", exp: Infinity }, socket, new SendTurn((fn) => fn()), 1 << 20, 0, "json", metrics.sink("ws"));
    handler.handle(conn, { t: "pub", id: 1, ch: "g", cid: "c1", body: "x" });
    handler.handle(conn, { t: "pub", id: 2, ch: "h", cid: "c2", body: "x" });
    handler.onData(conn, Buffer.from("not json"));
    await tick();
    asks[0]!.resolve({ seq: 1, duplicate: false });
    asks[1]!.reject(new RejectedError("not_member", "Cannot publish to h: not a member"));
    await tick();
    expect(frames.filter((f) => f.t === "err").length).toBe(2);
    expect(metrics.publishes.value).toBe(1);
    expect(metrics.errors.get(["not_member"])).toBe(1);
    expect(metrics.errors.get(["bad_request"])).toBe(1);
  });
});
