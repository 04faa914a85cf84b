import { describe, expect, it } from "vitest";
import { FakeClock } from "../core/clock.ts";
import { MemoryRegistry } from "../core/memory_registry.ts";
import type { NodeLease } from "../core/registry.ts";
import { LeaseKeeper } from "./lease_keeper.ts";

const TTL = 3_000;

/** A registry that can be taken down (calls fail) and brought back, as a Hazelcast restart does. */
class FlakyRegistry extends MemoryRegistry {
  down = false;
  /** The next this-many lease writes each take `slowMs` (a starved member). */
  slowCalls = 0;
  slowMs = 0;
  constructor(private readonly fake: FakeClock) {
    super(fake);
  }
  override async renewLease(lease: NodeLease, ttlMs: number): Promise<void> {
    if (this.down) throw new Error("registry unreachable");
    if (this.slowCalls > 0) {
      this.slowCalls--;
      await new Promise((r) => this.fake.setTimeout(() => r(undefined), this.slowMs));
    }
    return super.renewLease(lease, ttlMs);
  }
  override async liveNodes(): Promise<NodeLease[]> {
    if (this.down) throw new Error("registry unreachable");
    return super.liveNodes();
  }
}

/** Lets the keeper's promise chains run between clock steps. */
const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

function setup() {
  const clock = new FakeClock();
  const registry = new FlakyRegistry(clock);
  const events: string[] = [];
  let n = 0;
  const keeper = new LeaseKeeper({
    registry, node: "n1.a", address: "ws://n1", ttlMs: TTL, clock, load: () => 0,
    nextIncarnation: () => `n1.r${++n}`,
    onLost: (reason) => void events.push(`lost: ${reason.split(" (")[0]}`),
    onRejoined: (node, old, live) => void events.push(`rejoined ${node} after ${old}, live ${live.map((l) => l.node).join(",")}`),
    onLiveNodes: () => {},
    onFatal: (err) => void events.push(`fatal: ${String(err)}`),
    log: () => {},
  });
  /** Advances in small steps so each tick's renewal settles before the next. */
  const run = async (ms: number) => {
    for (let t = 0; t < ms; t += 100) {
      clock.advance(Math.min(100, ms - t));
      await settle();
    }
  };
  return { clock, registry, keeper, events, run };
}

describe("LeaseKeeper", () => {
  it("lease keeper - a registry outage past the deadline drops the actors, then rejoins under a new incarnation once it answers", async () => {
    const { registry, keeper, events, run } = setup();
    await keeper.start();
    await run(5_000);
    expect(keeper.held).toBe(true);
    expect(keeper.losses).toBe(0);

    registry.down = true;
    await run(TTL + 1_000);
    expect(events).toEqual(["lost: lease not renewed before its deadline"]);
    expect(keeper.state).toBe("rejoining");
    expect(keeper.held).toBe(false);
    // Still down: it keeps trying, with no second loss and no rejoin.
    await run(20_000);
    expect(keeper.state).toBe("rejoining");
    expect(keeper.losses).toBe(1);

    registry.down = false;
    await run(3_000);
    expect(events).toEqual(["lost: lease not renewed before its deadline", "rejoined n1.r1 after n1.a, live n1.r1"]);
    expect(keeper.held).toBe(true);
    expect(keeper.node).toBe("n1.r1");
    expect(keeper.rejoins).toBe(1);
    expect((await registry.liveNodes()).map((l) => l.node)).toEqual(["n1.r1"]);

    // Held again, it renews as before under the new id.
    const renewals = keeper.renewals;
    await run(5_000);
    expect(keeper.renewals).toBeGreaterThan(renewals);
    expect(keeper.held).toBe(true);
  });

  it("lease keeper - a process paused past its deadline finds it passed before renewing, and rejoins with a new id, the old one dropped", async () => {
    const { clock, registry, keeper, events, run } = setup();
    await keeper.start();
    await run(1_000);
    // A SIGSTOP: time jumps with no renewal settling in between (timers due meanwhile fire back to
    // back on resume, before any registry call can answer); the first tick sees the deadline passed.
    clock.advance(TTL + 500);
    await settle();
    expect(events[0]).toBe("lost: lease not renewed before its deadline");
    await run(1_000);
    expect(events[1]).toBe("rejoined n1.r1 after n1.a, live n1.r1");
    expect((await registry.liveNodes()).map((l) => l.node)).toEqual(["n1.r1"]);
    expect(keeper.held).toBe(true);
  });

  it("lease keeper - each loss takes a new incarnation: ids never return", async () => {
    const { registry, keeper, events, run } = setup();
    await keeper.start();
    for (let i = 0; i < 2; i++) {
      registry.down = true;
      await run(TTL + 1_000);
      registry.down = false;
      await run(3_000);
    }
    expect(events.filter((e) => e.startsWith("rejoined"))).toEqual(["rejoined n1.r1 after n1.a, live n1.r1", "rejoined n1.r2 after n1.r1, live n1.r2"]);
    expect(keeper.losses).toBe(2);
    expect(keeper.rejoins).toBe(2);
  });

  it("lease keeper - a failure to drop the actors is fatal: no rejoin", async () => {
    const clock = new FakeClock();
    const registry = new FlakyRegistry(clock);
    const events: string[] = [];
    const keeper = new LeaseKeeper({
      registry, node: "n1.a", address: "ws://n1", ttlMs: TTL, clock, load: () => 0, nextIncarnation: () => "n1.b",
      onLost: () => Promise.reject(new Error("workers would not stop")),
      onRejoined: () => void events.push("rejoined"),
      onLiveNodes: () => {}, onFatal: (err) => void events.push(`fatal: ${(err as Error).message}`), log: () => {},
    });
    await keeper.start();
    registry.down = true;
    for (let t = 0; t < 10_000; t += 100) {
      clock.advance(100);
      await settle();
    }
    registry.down = false;
    for (let t = 0; t < 5_000; t += 100) {
      clock.advance(100);
      await settle();
    }
    expect(events).toEqual(["fatal: workers would not stop"]);
    expect(keeper.held).toBe(false);
  });

  it("lease keeper - stop while rejoining ends the attempts and gives the lease back", async () => {
    const { registry, keeper, run } = setup();
    await keeper.start();
    registry.down = true;
    await run(TTL + 1_000);
    await keeper.stop();
    registry.down = false;
    await run(5_000);
    expect(keeper.state).toBe("stopped");
    expect(await registry.liveNodes()).toEqual([]);
  });

  it("lease keeper - a rejoin whose lease write took over half the TTL tries again at once instead of serving on a lease about to expire", async () => {
    const { registry, keeper, events, run } = setup();
    await keeper.start();
    registry.down = true;
    await run(TTL + 1_000);
    // The registry answers again, but slowly at first: 1.6 s per write with a 3 s lease.
    registry.slowCalls = 2;
    registry.slowMs = 1_600;
    registry.down = false;
    await run(15_000);
    expect(events).toEqual(["lost: lease not renewed before its deadline", "rejoined n1.r1 after n1.a, live n1.r1"]);
    expect(keeper.losses).toBe(1);
    expect(keeper.held).toBe(true);
  });
});
