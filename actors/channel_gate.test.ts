import { describe, expect, it } from "vitest";
import { MemoryStore } from "../property-tests/memory_store.ts";
import { ActorHost } from "../runtime/core/actor_host.ts";
import { FakeClock } from "../runtime/core/clock.ts";
import { actorFactories, actorGates } from "./index.ts";

/** A store that counts every write, so a test can say "nothing was written". */
class CountingStore extends MemoryStore {
  writes: string[] = [];
  override async acquireEpoch(id: string, owner: string) {
    this.writes.push(`epoch ${id}`);
    return super.acquireEpoch(id, owner);
  }
  override async saveSnapshot(...a: Parameters<MemoryStore["saveSnapshot"]>) {
    this.writes.push(`snapshot ${a[0]}`);
    return super.saveSnapshot(...a);
  }
  override async append(...a: Parameters<MemoryStore["append"]>) {
    this.writes.push(`append ${a[0]}`);
    return super.append(...a);
  }
}

function setup() {
  const store = new CountingStore();
  const host = new ActorHost({ nodeId: "n1", store, clock: new FakeClock(), factories: actorFactories(), gates: actorGates, send: () => {}, idlePassivateMs: 0 });
  const ask = (to: string, msg: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      let replied = false;
      host.deliver(to, { msg, get replied() { return replied; }, reply: (v) => { replied = true; resolve(v); }, fail: (e) => { replied = true; reject(e); } });
    });
  return { store, host, ask };
}

const pub = (cid: string) => ({ type: "publish", user: "alice", clientId: cid, body: "hi" });

describe("channel activation gate", () => {
  it("channel - a pub to a channel that was never created is refused without activating or writing anything", async () => {
    const { store, host, ask } = setup();
    await expect(ask("channel:nope", pub("c1"))).rejects.toMatchObject({ code: "channel_not_found", message: 'Channel "nope" does not exist' });
    await expect(ask("channel:nope", { type: "mark_read", user: "alice", seq: 3 })).rejects.toMatchObject({ code: "channel_not_found" });
    expect(store.writes).toEqual([]);
    expect(await store.currentEpoch("channel:nope")).toBeNull();
    expect(host.size).toBe(0);
    expect(host.list()).toEqual([]);
  });

  it("channel - messages queued behind a create are served by the activation it starts, in order", async () => {
    const { store, ask } = setup();
    const before = ask("channel:general", pub("c0"));
    const create = ask("channel:general", { type: "create", user: "alice", visibility: "public", topic: "" });
    const after = ask("channel:general", pub("c1"));
    await expect(before).rejects.toMatchObject({ code: "channel_not_found" });
    expect(await create).toMatchObject({ name: "general", owner: "alice" });
    expect(await after).toEqual({ seq: 1, duplicate: false });
    expect(store.writes).toEqual(["epoch channel:general", "snapshot channel:general", "append channel:general"]);
  });

  it("channel - an existing channel that was passivated activates again on a pub", async () => {
    const { host, ask } = setup();
    await ask("channel:general", { type: "create", user: "alice", visibility: "public", topic: "" });
    await host.passivateIdle(-1);
    expect(await ask("channel:general", pub("c1"))).toEqual({ seq: 1, duplicate: false });
  });
});
