import { describe, expect, it } from "vitest";
import type { LifecycleEvent } from "./actor_host.ts";
import { ActorSystem } from "./actor_system.ts";
import { FakeClock } from "./clock.ts";
import { MemoryRegistry } from "./memory_registry.ts";
import type { Platform, WorkerHandle } from "./platform.ts";
import type { Placement } from "./registry.ts";
import { type Batch, Op } from "./wire.ts";

/**
 * A node n1 with one fake worker whose life-cycle notices the test delivers, over an in-memory
 * registry that logs every call (`op id`) and resolves `called(op id)` when one happens.
 */
function setup() {
  const clock = new FakeClock();
  const registry = new MemoryRegistry(clock);
  const calls: string[] = [];
  const waiters = new Map<string, () => void>();
  for (const op of ["lookup", "claim", "replace", "release"] as const) {
    const real = (registry[op] as (...a: unknown[]) => Promise<unknown>).bind(registry);
    (registry as unknown as Record<string, unknown>)[op] = async (id: string, ...rest: unknown[]) => {
      const r = await real(id, ...rest);
      calls.push(`${op} ${id}`);
      waiters.get(`${op} ${id}`)?.();
      return r;
    };
  }
  const called = (key: string) => new Promise<void>((resolve) => waiters.set(key, resolve));
  let fromWorker: (b: Batch) => void = () => {};
  const handle = {
    postMessage: () => {},
    on: (event: string, fn: (v: never) => void) => {
      if (event === "message") fromWorker = fn as (b: Batch) => void;
    },
    terminate: async () => 0,
  } as unknown as WorkerHandle;
  const platform: Platform = { spawnWorker: () => handle, createChannel: () => { throw new Error("unused"); }, defer: (fn) => queueMicrotask(fn), cpuCount: () => 1 };
  const system = new ActorSystem({
    nodeId: "n1", platform, clock, workers: 1, workerEntry: "unused", workerData: () => ({ data: null, transfer: [] }),
    placement: { name: "one", place: () => 0 }, registry, askTimeoutMs: 1_000, onEdgeEvent: () => {}, log: () => {}, epochKinds: ["channel"],
  });
  system.start();
  const life = (...events: LifecycleEvent[]) => fromWorker(events.flatMap((ev) => [Op.Life, ev]) as Batch);
  return { registry, calls, called, life };
}

const at = (node: string, epoch: number): Placement => ({ node, worker: 0, epoch });

describe("actor system placements", () => {
  it("system - a session's activation writes nothing to the registry, a channel's records its epoch", async () => {
    const { registry, calls, called, life } = setup();
    await registry.claim("session:u", at("n1", 0));
    await registry.claim("channel:c", at("n1", 0));
    calls.length = 0;
    const recorded = called("replace channel:c");
    life({ type: "activated", id: "session:u", epoch: 7 }, { type: "activated", id: "channel:c", epoch: 7 });
    await recorded;
    expect(calls).toEqual(["lookup channel:c", "replace channel:c"]);
    expect(await registry.lookup("session:u")).toEqual(at("n1", 0));
    expect(await registry.lookup("channel:c")).toEqual(at("n1", 7));
  });

  it("system - a passivated session gives back the placement naming this node, whatever its epoch", async () => {
    const { registry, called, life } = setup();
    await registry.claim("session:u", at("n1", 0));
    const released = called("release session:u");
    life({ type: "activated", id: "session:u", epoch: 3 }, { type: "stopped", id: "session:u", epoch: 3, reason: "passivated" });
    await released;
    expect(await registry.lookup("session:u")).toBeNull();
  });

  it("system - a passivated session leaves a placement that moved to another node, and a failed one leaves its own", async () => {
    const { registry, calls, called, life } = setup();
    await registry.claim("session:moved", at("n2", 0));
    await registry.claim("session:failed", at("n1", 0));
    calls.length = 0;
    const looked = called("lookup session:moved");
    life({ type: "stopped", id: "session:failed", epoch: 3, reason: "failed" }, { type: "stopped", id: "session:moved", epoch: 3, reason: "passivated" });
    await looked;
    expect(calls).toEqual(["lookup session:moved"]);
    expect(await registry.lookup("session:moved")).toEqual(at("n2", 0));
    expect(await registry.lookup("session:failed")).toEqual(at("n1", 0));
  });
});
