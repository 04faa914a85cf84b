import { describe, expect, it } from "vitest";
import { fakePlatform, VirtualTime } from "../../property-tests/sdk_fake_node.ts";
import type { ClientFrame, ServerFrame } from "./protocol.ts";
import { StormClient } from "./storm_client.ts";
import type { Transport, TransportHandlers } from "./transport.ts";
import type { WireEvent } from "./wire_tap.ts";

const rand = () => 0.5;
const WELCOME: ServerFrame = { t: "welcome", user: "alice", role: "user", channels: ["g"], reads: {}, unread: { g: 2 }, mentions: {} };

/** A scripted node: each connection answers as `answer` says (the connection's number from 1, the frame). */
function scripted(time: VirtualTime, answer: (conn: number, f: ClientFrame) => ServerFrame[] | undefined, silent: (conn: number) => boolean = () => false) {
  const opened: Array<{ closed: boolean }> = [];
  const factory = (kind: "websocket" | "sse" | "poll", _base: string, _token: string, _p: unknown, h: TransportHandlers): Transport => {
    const conn = opened.length + 1;
    const state = { closed: false };
    opened.push(state);
    const reply = (f: ClientFrame) => {
      const out = answer(conn, f);
      if (out && !state.closed) time.setTimeout(() => !state.closed && h.onFrames(out), 1);
    };
    return {
      kind,
      start: () => void (silent(conn) || time.setTimeout(() => !state.closed && h.onFrames([WELCOME]), 1)),
      send: (fs) => fs.forEach(reply),
      subscribe: (ch, after, id) => reply({ t: "sub", id, ch, after }),
      unsubscribe: () => {},
      reauth: () => {},
      close: () => void (state.closed = true),
    };
  };
  return { opened, factory };
}

function client(time: VirtualTime, factory: ReturnType<typeof scripted>["factory"]): StormClient {
  return new StormClient({
    url: "http://fake", token: "t", platform: fakePlatform(time, rand, "c"), createTransport: factory,
    transports: ["websocket"], backoff: { baseMs: 100, maxMs: 1_000 }, connectTimeoutMs: 3_000, heartbeatMs: 60_000,
  });
}

const pong = (f: ClientFrame): ServerFrame[] | undefined => (f.t === "ping" ? [{ t: "pong", id: f.id, ts: 0 }] : undefined);

describe("ClientSession recovery (scripted transports, virtual time)", () => {
  it("a connection that never says welcome (a paused node) is dropped after connectTimeoutMs and the next one is used", async () => {
    const time = new VirtualTime();
    const node = scripted(time, (_c, f) => pong(f), (conn) => conn === 1);
    const c = client(time, node.factory);
    let connected = false;
    void c.connect().then(() => (connected = true));
    expect(await time.run(() => connected, 60_000)).toBe(true);
    expect(node.opened.map((o) => o.closed)).toEqual([true, false]);
    expect(time.now).toBeGreaterThanOrEqual(3_000);
    c.close();
  });

  it("a sub refused with the retry rule is asked again on the same connection; with the reconnect rule, on a new one", async () => {
    const time = new VirtualTime();
    let refusals = 0;
    const node = scripted(time, (conn, f) => {
      if (f.t !== "sub") return pong(f);
      if (conn === 1 && refusals++ < 2) return [{ t: "err", id: f.id, code: "unavailable", message: "moving", retry: "retry" }];
      if (conn === 1) return [{ t: "err", id: f.id, code: "shutting_down", message: "bye", retry: "reconnect" }];
      return [{ t: "subbed", id: f.id, ch: f.ch, last: 0, first: 1 }];
    });
    const c = client(time, node.factory);
    const wire: WireEvent[] = [];
    c.on("wire", (e) => wire.push(e));
    let welcome: { unread: Record<string, number> } | undefined;
    c.on("welcome", (w) => (welcome = w));
    void c.connect();
    let subscribed = false;
    void c.channel("g").subscribe().then(() => (subscribed = true));
    expect(await time.run(() => subscribed, 60_000)).toBe(true);
    // Two refusals to retry on connection 1, then one to reconnect: connection 2 subscribes.
    const subs = wire.filter((e) => e.dir === "out").flatMap((e) => e.frames.filter((f) => f.t === "sub").map(() => e.conn));
    expect(subs).toEqual([1, 1, 1, 2]);
    expect(wire.find((e) => e.dir === "closed")).toMatchObject({ conn: 1 });
    expect(node.opened.length).toBe(2);
    expect(welcome?.unread).toEqual({ g: 2 });
    c.close();
  });
});
