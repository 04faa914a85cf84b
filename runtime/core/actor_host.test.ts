import { describe, expect, it } from "vitest";
import type { Store } from "../../storage/store.ts";
import type { Actor, ActorContext, Envelope } from "./actor.ts";
import { ActorHost } from "./actor_host.ts";
import { FakeClock } from "./clock.ts";
import { FencedError, StormError } from "./errors.ts";

/** A store that only hands out epochs: the host needs nothing else. */
function epochStore(): Store {
  const epochs = new Map<string, number>();
  return {
    acquireEpochGrant: async (id: string) => {
      const e = (epochs.get(id) ?? 0) + 1;
      epochs.set(id, e);
      return { epoch: e, first: e === 1 };
    },
  } as unknown as Store;
}

/** A scriptable actor recording its batches; `gate` holds a batch open until released. */
class Probe implements Actor {
  static log: string[] = [];
  static batches: unknown[][] = [];
  static gate: Promise<void> | undefined;
  static throwOn: unknown;
  static passivated = 0;
  constructor(readonly ctx: ActorContext) {}
  async activate() {
    Probe.log.push(`activate ${this.ctx.self} epoch ${this.ctx.epoch}`);
  }
  async receive(batch: readonly Envelope[]) {
    Probe.batches.push(batch.map((e) => e.msg));
    if (Probe.gate) await Probe.gate;
    for (const env of batch) {
      if (env.msg === Probe.throwOn) throw new Error("boom");
      if (env.msg === "fence") throw new FencedError("fenced");
      env.reply(`${env.msg}@${this.ctx.epoch}`);
    }
  }
  async passivate() {
    Probe.passivated++;
  }
  canPassivate() {
    return true;
  }
  inspect() {
    return {};
  }
}

function setup(idlePassivateMs = 0) {
  Probe.log = [];
  Probe.batches = [];
  Probe.gate = undefined;
  Probe.throwOn = undefined;
  Probe.passivated = 0;
  const clock = new FakeClock();
  const host = new ActorHost({ nodeId: "n1", store: epochStore(), clock, factories: { probe: (ctx) => new Probe(ctx) }, send: () => {}, idlePassivateMs });
  const ask = (to: string, msg: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      let replied = false;
      host.deliver(to, {
        msg,
        get replied() { return replied; },
        reply: (v) => { replied = true; resolve(v); },
        fail: (e) => { replied = true; reject(e); },
      });
    });
  return { host, clock, ask };
}

describe("actor host", () => {
  it("mailbox - messages arriving during a batch form the next batch, in arrival order", async () => {
    const { ask } = setup();
    let open!: () => void;
    Probe.gate = new Promise((r) => (open = r));
    const first = ask("probe:a", 1);
    await Promise.resolve();
    await new Promise((r) => setTimeout(r, 0));
    const rest = [2, 3, 4].map((m) => ask("probe:a", m));
    open();
    Probe.gate = undefined;
    expect(await Promise.all([first, ...rest])).toEqual(["1@1", "2@1", "3@1", "4@1"]);
    expect(Probe.batches).toEqual([[1], [2, 3, 4]]);
  });

  it("activation - the first message activates the actor once, with a fresh epoch", async () => {
    const { ask } = setup();
    await Promise.all([ask("probe:a", "x"), ask("probe:a", "y"), ask("probe:b", "z")]);
    expect(Probe.log.sort()).toEqual(["activate probe:a epoch 1", "activate probe:b epoch 1"]);
  });

  it("supervision - a throwing handler fails its batch retryably and the actor restarts with a new epoch", async () => {
    const { ask } = setup();
    Probe.throwOn = "bad";
    const bad = ask("probe:a", "bad");
    await expect(bad).rejects.toMatchObject({ code: "unavailable" });
    expect(await ask("probe:a", "good")).toBe("good@2");
    expect(Probe.log).toEqual(["activate probe:a epoch 1", "activate probe:a epoch 2"]);
  });

  it("supervision - a fenced activation stops; the next message activates a newer one", async () => {
    const { ask, host } = setup();
    await expect(ask("probe:a", "fence")).rejects.toBeInstanceOf(FencedError);
    expect(host.size).toBe(0);
    expect(await ask("probe:a", "again")).toBe("again@2");
  });

  it("passivation - an idle actor is persisted and dropped, then reactivated on demand", async () => {
    const { ask, host, clock } = setup(1_000);
    await ask("probe:a", "x");
    await new Promise((r) => setTimeout(r, 0)); // let the mailbox loop finish its batch
    clock.advance(2_000);
    await new Promise((r) => setTimeout(r, 0));
    expect(Probe.passivated).toBe(1);
    expect(host.size).toBe(0);
    expect(await ask("probe:a", "y")).toBe("y@2");
  });

  it("routing - a message an actor sends to itself stays with that activation, never routed out", async () => {
    const sent: string[] = [];
    const seen: unknown[] = [];
    const clock = new FakeClock();
    const host = new ActorHost({
      nodeId: "n1", store: epochStore(), clock, idlePassivateMs: 0,
      send: (to) => void sent.push(to),
      factories: {
        self: (ctx) => ({
          activate: async () => {},
          receive: (batch) => {
            for (const env of batch) {
              seen.push(env.msg);
              if (env.msg === "arm") ctx.clock.setTimeout(() => ctx.tell(ctx.self, "tick"), 10);
            }
          },
          passivate: async () => {},
          canPassivate: () => true,
          inspect: () => ({}),
        }),
      },
    });
    host.deliver("self:a", { msg: "arm", replied: true, reply() {}, fail() {} });
    await new Promise((r) => setTimeout(r, 0));
    clock.advance(20);
    await new Promise((r) => setTimeout(r, 0));
    // Routed out, the tick would go wherever the registry places the actor now (in a cluster,
    // possibly another node), and this activation would wait for it forever.
    expect(seen).toEqual(["arm", "tick"]);
    expect(sent).toEqual([]);
  });

  it("routing - an unknown actor kind gets a typed not_found rejection", async () => {
    const { ask } = setup();
    const err = await ask("nope:a", 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StormError);
    expect((err as StormError).code).toBe("not_found");
  });
});
