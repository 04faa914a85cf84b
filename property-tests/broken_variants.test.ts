import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { actorFactories } from "../actors/index.ts";
import type { ChannelMsg } from "../actors/messages.ts";
import type { Actor, ActorFactory, Envelope } from "../runtime/core/actor.ts";
import type { Store } from "../storage/store.ts";
import { channelProperty, SEED } from "./channel_commands.ts";
import { CHANNEL_OPTIONS, type WorldOptions } from "./channel_model.ts";
import { MemoryStore } from "./memory_store.ts";

/**
 * The model must be able to fail: each case runs the same property against a deliberately broken
 * store or actor and expects a counterexample, for the guarantee that the break violates.
 */
async function counterexample(opts: () => WorldOptions): Promise<string> {
  const out = await fc.check(channelProperty(opts), { numRuns: 300, seed: SEED });
  expect(out.failed, "the broken variant went unnoticed").toBe(true);
  return `${String(out.errorInstance)}\n${String((out.errorInstance as Error | undefined)?.cause ?? "")}`;
}

/** append answers ok at once and commits in the background (ack before durability). */
function eagerAck(store: Store): Store {
  return new Proxy(store, {
    get: (t, k) => (k === "append"
      ? (...a: Parameters<Store["append"]>) => (void t.append(...a).catch(() => {}), Promise.resolve({ ok: true }))
      : (Reflect.get(t, k) as (...a: unknown[]) => unknown).bind(t)),
  });
}

/** A channel actor that acks every publish with a guessed seq before its batch commits. */
const acksBeforeCommit: ActorFactory = (ctx) => {
  const inner = actorFactories(CHANNEL_OPTIONS).channel!(ctx);
  const actor: Actor = {
    activate: () => inner.activate(),
    passivate: () => inner.passivate(),
    canPassivate: () => inner.canPassivate(),
    inspect: () => inner.inspect(),
    receive(batch: readonly Envelope[]) {
      let next = Number(inner.inspect().lastSeq);
      const early = batch.map((env) => {
        if ((env.msg as ChannelMsg).type !== "publish") return env;
        env.reply({ seq: ++next, duplicate: false });
        return { msg: env.msg, replied: false, reply() {}, fail() {} };
      });
      return inner.receive(early);
    },
  };
  return actor;
};

describe("model - broken variants are caught", () => {
  it("model - a store without epoch checks is caught", async () => {
    expect(await counterexample(() => ({ store: new MemoryStore({ checkEpoch: false }) }))).toMatch(/G5: /);
  });

  it("model - a store without client-id (duplicate) checks is caught", async () => {
    expect(await counterexample(() => ({ store: new MemoryStore({ checkDuplicates: false }) }))).toMatch(/G3: /);
  });

  it("model - a store that acknowledges an append before committing it is caught", async () => {
    expect(await counterexample(() => ({ store: new MemoryStore(), wrap: eagerAck }))).toMatch(/G2: /);
  });

  it("model - a channel actor that acks before commit is caught", async () => {
    const factories = { ...actorFactories(CHANNEL_OPTIONS), channel: acksBeforeCommit };
    expect(await counterexample(() => ({ store: new MemoryStore(), factories }))).toMatch(/G[23]: /);
  });
});
