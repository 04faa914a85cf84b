import { describe, expect, it } from "vitest";
import { MemoryStore } from "../property-tests/memory_store.ts";
import { ActorHost, tellEnvelope } from "../runtime/core/actor_host.ts";
import { FakeClock } from "../runtime/core/clock.ts";
import { actorFactories } from "./index.ts";
import type { PublishAck } from "./messages.ts";

const CH = "channel:flow";
const EDGE = "edge:x";

function setup() {
  const clock = new FakeClock();
  const store = new MemoryStore();
  const sent: Array<{ to: string; msg: unknown }> = [];
  const host = new ActorHost({ nodeId: "n1", store, clock, factories: actorFactories(), send: (to, msg) => void sent.push({ to, msg }), idlePassivateMs: 0 });
  const ask = <T>(msg: unknown) =>
    new Promise<T>((resolve, reject) => {
      let replied = false;
      host.deliver(CH, {
        msg,
        get replied() { return replied; },
        reply: (v) => { replied = true; resolve(v as T); },
        fail: (e) => { replied = true; reject(e); },
      });
    });
  const tell = (msg: unknown) => host.deliver(CH, tellEnvelope(msg));
  const settle = () => new Promise((r) => setTimeout(r, 5));
  return { clock, store, ask, tell, settle, sent };
}

describe("channel flow control", () => {
  it("channel - publishes held while an edge lags commit in mailbox order once it catches up", async () => {
    const { clock, store, ask, tell, settle } = setup();
    await ask({ type: "create", user: "a", visibility: "public", topic: "" });
    await ask({ type: "subscribe", user: "a", edge: EDGE, after: 0, limit: 100 });
    expect(await ask<PublishAck>({ type: "publish", user: "a", clientId: "p1", body: "1" })).toMatchObject({ seq: 1 });
    clock.advance(300); // the edge has not reported seq 1 for longer than the lag bound
    const acks: number[] = [];
    const later = ["p2", "p3", "p4"].map((cid) => ask<PublishAck>({ type: "publish", user: "a", clientId: cid, body: cid }).then((a) => acks.push(a.seq)));
    await settle();
    expect(store.journalOf(CH)).toHaveLength(1);
    expect(acks).toEqual([]);
    tell({ type: "delivered", edge: EDGE, seq: 1 });
    await Promise.all(later);
    expect(acks).toEqual([2, 3, 4]);
    expect(store.journalOf(CH).map((e) => e.clientId)).toEqual(["p1", "p2", "p3", "p4"]);
  });

  it("channel - an edge that never catches up is dropped, told so, and held work goes on", async () => {
    const { clock, store, ask, settle, sent } = setup();
    await ask({ type: "create", user: "a", visibility: "public", topic: "" });
    await ask({ type: "subscribe", user: "a", edge: EDGE, after: 0, limit: 100 });
    await ask({ type: "publish", user: "a", clientId: "p1", body: "1" });
    clock.advance(300);
    const held = ask<PublishAck>({ type: "publish", user: "a", clientId: "p2", body: "2" });
    await settle();
    expect(store.journalOf(CH)).toHaveLength(1);
    clock.advance(3_000); // the flow check fires: the laggard edge is dropped
    expect(await held).toMatchObject({ seq: 2 });
    // its sockets would otherwise wait for batches that never come
    expect(sent.filter((s) => s.to === EDGE && (s.msg as { type: string }).type === "dropped")).toEqual([{ to: EDGE, msg: { type: "dropped", ch: "flow" } }]);
  });

  it("channel - an edge reported gone (its node's incarnation lost its lease) stops holding publishes at once", async () => {
    const { clock, store, ask, tell, settle } = setup();
    await ask({ type: "create", user: "a", visibility: "public", topic: "" });
    await ask({ type: "subscribe", user: "a", edge: EDGE, after: 0, limit: 100 });
    await ask({ type: "publish", user: "a", clientId: "p1", body: "1" });
    clock.advance(300); // the gone edge never reports seq 1
    const held = ask<PublishAck>({ type: "publish", user: "a", clientId: "p2", body: "2" });
    await settle();
    expect(store.journalOf(CH)).toHaveLength(1);
    tell({ type: "edge_gone", edge: EDGE }); // no 3 s flow check: the clock does not move
    expect(await held).toMatchObject({ seq: 2 });
    clock.advance(300);
    expect(await ask<PublishAck>({ type: "publish", user: "a", clientId: "p3", body: "3" })).toMatchObject({ seq: 3 });
  });
});
