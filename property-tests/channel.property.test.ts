import { afterAll, beforeAll, describe, it } from "vitest";
import type { Store } from "../storage/store.ts";
import { assertChannel, changeStepArb, channelProperty, RUNS, staleStepArb } from "./channel_commands.ts";
import { MemoryStore } from "./memory_store.ts";

/**
 * Model-based test of the channel actor and its store (G1–G5). Reproduce a CI failure with
 * `STORM_PROP_SEED=<seed printed> npx vitest run property-tests/`; raise the budget locally with
 * `STORM_PROP_RUNS=5000`.
 */
describe("channel actor model (G1–G5)", () => {
  it(`model - channel actor on the memory store keeps G1–G5 under faults, crashes and zombies (${RUNS} runs)`, async () => {
    await assertChannel(channelProperty(() => ({ store: new MemoryStore() })));
  });
});

describe("channel actor model with edits, deletes and reactions", () => {
  it(`model - edits, deletes and reactions interleaved with publishes, faults and crashes keep G1–G5 and the model's current version (${RUNS} runs)`, async () => {
    await assertChannel(channelProperty(() => ({ store: new MemoryStore() }), 30, changeStepArb));
  });
});

// The real embedded store, smaller budget: opening PGlite costs seconds, each run a few hundred ms.
// One database for every run: each run uses a channel of its own. STORM_PROP_PGLITE=0 skips it.
const PG_RUNS = Number(process.env.STORM_PROP_PGLITE_RUNS ?? 12);
describe.skipIf(process.env.STORM_PROP_PGLITE === "0")("channel actor model on PGlite", () => {
  let store: Store;
  beforeAll(async () => {
    const { openPgliteStore } = await import("../storage/pglite_store.ts");
    store = await openPgliteStore(undefined);
  });
  afterAll(async () => {
    await store?.close();
  });

  it(`model - channel actor on the PGlite store keeps G1–G5 (${PG_RUNS} runs)`, async () => {
    await assertChannel(channelProperty(() => ({ store }), 20), PG_RUNS);
  });

  it(`model - edits, deletes and reactions on the PGlite store keep G1–G5 and the model's current version (${PG_RUNS} runs)`, async () => {
    await assertChannel(channelProperty(() => ({ store }), 20, changeStepArb), PG_RUNS);
  });
});

// The stricter properties that found the bugs pinned in regressions.test.ts.
describe("channel actor model - strict live-stream and stale-activation properties", () => {
  it("model - live subscribers survive an in-place actor restart", async () => {
    await assertChannel(channelProperty(() => ({ store: new MemoryStore(), strictLive: true })));
  });

  it("model - a resume routed to a superseded activation is never silently partial", async () => {
    await assertChannel(channelProperty(() => ({ store: new MemoryStore() }), 30, staleStepArb));
  });
});
