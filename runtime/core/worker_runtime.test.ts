import { describe, expect, it } from "vitest";
import type { Store } from "../../storage/store.ts";
import type { Actor, Envelope } from "./actor.ts";
import { FakeClock } from "./clock.ts";
import { StormError } from "./errors.ts";
import type { PortLike } from "./platform.ts";
import { type Batch, Op, type WireCodec } from "./wire.ts";
import { startWorkerRuntime } from "./worker_runtime.ts";

/** Codes `{ n }` as the number n, the way the actors' codec codes an ack as its seq. */
const numberCodec: WireCodec = {
  encode: (v) => (typeof v === "object" && v !== null && "n" in v ? (v as { n: number }).n : undefined),
  decode: (w) => ({ n: w }),
};

/** One end of a thread hop: records what the runtime posts, and delivers batches to it. */
function fakePort() {
  const posted: Batch[] = [];
  let listener: (v: unknown) => void = () => {};
  const port: PortLike = { postMessage: (v) => void posted.push(v as Batch), on: (_e, fn) => (listener = fn) };
  return { port, posted, deliver: (b: Batch) => listener(b) };
}

/** Replies `{ n }` for a coded ask, the text back for a plain one, and fails on "bad". */
class Echo implements Actor {
  async activate() {}
  receive(batch: readonly Envelope[]) {
    for (const env of batch) {
      const m = env.msg as { n: number } | string;
      if (m === "bad") env.fail(new StormError("forbidden", "not yours"));
      else env.reply(typeof m === "string" ? `echo ${m}` : { n: m.n + 1 });
    }
  }
  async passivate() {}
  canPassivate() {
    return true;
  }
  inspect() {
    return {};
  }
}

/** A flat batch split into its frames (the fields each op has, from `wire.ts`). */
function frames(b: Batch): unknown[][] {
  const fields: Record<number, number> = { [Op.Reply]: 2, [Op.Fail]: 2, [Op.Out]: 2, [Op.Life]: 1 };
  const out: unknown[][] = [];
  for (let i = 0; i < b.length;) {
    const n = fields[(b[i] as number) & ~Op.Coded]!;
    out.push(b.slice(i, i + 1 + n));
    i += 1 + n;
  }
  return out;
}

function setup() {
  const { port, posted, deliver } = fakePort();
  const turns: Array<() => void> = [];
  const store = { acquireEpochGrant: async () => ({ epoch: 1, first: true }) } as unknown as Store;
  startWorkerRuntime(port, (fn) => void turns.push(fn), {
    nodeId: "n1", store, clock: new FakeClock(), factories: { echo: () => new Echo() }, idlePassivateMs: 0,
  }, numberCodec);
  /** Lets the actor's activation and batch settle, then ends the loop turn. */
  const endTurn = async () => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
    while (turns.length > 0) turns.shift()!();
  };
  return { posted, deliver, endTurn };
}

describe("worker runtime", () => {
  it("worker runtime - the replies of one turn leave as one flat batch, coded ones flagged and in the codec's form", async () => {
    const { posted, deliver, endTurn } = setup();
    deliver([Op.Ask | Op.Coded, "echo:a", 41, 1, Op.Ask, "echo:a", "hi", 2, Op.Tell, "echo:a", "ignored"]);
    await endTurn();
    expect(posted).toHaveLength(1);
    const replies = frames(posted[0]!).filter((f) => f[0] !== Op.Life);
    expect(replies).toEqual([[Op.Reply | Op.Coded, 1, 42], [Op.Reply, 2, "echo hi"]]);
  });

  it("worker runtime - a failed ask crosses as a Fail frame carrying its wire error", async () => {
    const { posted, deliver, endTurn } = setup();
    deliver([Op.Ask, "echo:a", "bad", 5]);
    await endTurn();
    const fail = posted.flatMap(frames).find((f) => f[0] === Op.Fail);
    expect(fail?.slice(0, 2)).toEqual([Op.Fail, 5]);
    expect(fail?.[2]).toMatchObject({ code: "forbidden", message: "not yours" });
  });

  it("worker runtime - a batch with an op it does not know is refused by name", () => {
    const { deliver } = setup();
    expect(() => deliver([42, "x"])).toThrow(/Cannot read a batch from the main thread: op 42 at 0/);
  });
});
