import { MemoryStore } from "./memory_store.ts";
import { ActorHost } from "../runtime/core/actor_host.ts";
import { FakeClock } from "../runtime/core/clock.ts";
import type { Store } from "../storage/store.ts";
import { actorFactories } from "../actors/index.ts";
import { defaultChannelOptions } from "../actors/channel_actor.ts";

/**
 * The real actors on one `ActorHost` over a memory store, for actor-level tests: `ask` any actor
 * by id, and see what actors sent to edges and sessions (`sent`).
 */
export function actorTestHost<S extends Store = MemoryStore>(store: S = new MemoryStore() as Store as S) {
  const clock = new FakeClock();
  const sent: Array<{ to: string; msg: unknown }> = [];
  const host = new ActorHost({
    nodeId: "n1", store, clock, factories: actorFactories({ ...defaultChannelOptions, historySize: 4, dedupeWindow: 6 }), idlePassivateMs: 0,
    // Sessions are actors of this host too: tells to them are delivered (and recorded).
    send: (to, msg) => {
      sent.push({ to, msg });
      if (!to.startsWith("edge:")) host.deliver(to, { msg, replied: false, reply() {}, fail() {} });
    },
  });
  const ask = <T = unknown>(id: string, msg: unknown) =>
    new Promise<T>((resolve, reject) => {
      let replied = false;
      host.deliver(id, {
        msg,
        get replied() { return replied; },
        reply: (v) => { replied = true; resolve(v as T); },
        fail: (e) => { replied = true; reject(e); },
      });
    });
  /** What was sent to `to` (an edge or an actor), in order. */
  const to = <T = unknown>(id: string) => sent.filter((s) => s.to === id).map((s) => s.msg as T);
  const settle = () => new Promise((r) => setTimeout(r, 5));
  return { clock, store, host, ask, sent, to, settle };
}
