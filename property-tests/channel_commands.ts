import fc from "fast-check";
import { World, type WorldOptions } from "./channel_model.ts";
import type { FaultKind } from "./memory_store.ts";
import type { ChangeWhat } from "./change_model.ts";

/**
 * The commands of the model-based test, as plain data so that a shrunk counterexample can be
 * pasted into regressions.test.ts as a literal list. Every command issues its messages, lets the
 * system run until no store call is in flight (gated appends stay gated), then checks G1–G5.
 */
export type Step =
  /** A fresh client id published through the current placement. */
  | { op: "publish"; c: number }
  /** Client `c` re-sends one of its earlier client ids (acked or not). */
  | { op: "retry"; c: number; k: number }
  /** Several publishes in one turn (one mailbox batch: group commit), optionally with a twin id. */
  | { op: "burst"; c: number; n: number; dup: boolean }
  /** Client `c` reconnects and resumes from the last seq it saw; `pub` publishes by the next client
   *  go out in the same turn; a `slow` edge handles each page a loop turn late. */
  | { op: "resume"; c: number; slow?: boolean; pub?: number }
  /** The current host dies: it never hears from the store again; a new host takes new messages. */
  | { op: "crash" }
  /** A new host takes new messages while the old one stays alive (a paused owner, later a zombie). */
  | { op: "failover" }
  /** A publish through an older, still-alive host (fresh id, or a retry of one of `c`'s ids). */
  | { op: "zombie"; c: number; k: number; retry: boolean }
  /** Client `c` resumes through an older, still-alive host (a stale placement; not in the default mix). */
  | { op: "staleResume"; c: number; k: number }
  /** Arms a one-shot store fault for the next append. */
  | { op: "fault"; kind: FaultKind }
  /** Lets delayed appends go. */
  | { op: "release" }
  /** Client `c` edits or deletes one of its messages, or reacts to any (`k` picks it). */
  | { op: "change"; c: number; what: ChangeWhat; k: number };

export async function runStep(w: World, s: Step): Promise<void> {
  switch (s.op) {
    case "publish":
      w.publish(w.route, s.c, w.freshCid(s.c));
      break;
    case "retry": {
      const cids = w.clients[s.c]!.cids;
      if (cids.length > 0) w.publish(w.route, s.c, cids[s.k % cids.length]!);
      break;
    }
    case "burst": {
      const cids = Array.from({ length: s.n }, () => w.freshCid(s.c));
      for (const cid of cids) w.publish(w.route, s.c, cid);
      if (s.dup) w.publish(w.route, s.c, cids[0]!);
      break;
    }
    case "resume": {
      void w.resume(s.c, w.route, s.slow);
      const other = (s.c + 1) % w.clients.length;
      for (let i = 0; i < (s.pub ?? 0); i++) w.publish(w.route, other, w.freshCid(other));
      break;
    }
    case "crash":
      w.route.dead = true;
      w.newHost();
      break;
    case "failover":
      w.newHost();
      break;
    case "zombie": {
      const old = w.hosts.filter((h) => !h.dead && h !== w.route);
      if (old.length === 0) break;
      const cids = w.clients[s.c]!.cids;
      const cid = s.retry && cids.length > 0 ? cids[s.k % cids.length]! : w.freshCid(s.c);
      w.publish(old[s.k % old.length]!, s.c, cid);
      break;
    }
    case "staleResume": {
      const old = w.hosts.filter((h) => !h.dead && h !== w.route);
      if (old.length > 0) void w.resume(s.c, old[s.k % old.length]!);
      break;
    }
    case "fault":
      w.faults.inject(s.kind);
      break;
    case "release":
      w.faults.release();
      break;
    case "change":
      w.change(s.c, s.what, s.k);
      break;
  }
  await w.quiet();
  await w.check();
}

const client = fc.integer({ min: 0, max: 2 });

export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: client.map((c): Step => ({ op: "publish", c })) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("retry" as const), c: client, k: fc.nat(9) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("burst" as const), c: client, n: fc.integer({ min: 2, max: 4 }), dup: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("resume" as const), c: client, slow: fc.boolean(), pub: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.constant<Step>({ op: "crash" }) },
  { weight: 1, arbitrary: fc.constant<Step>({ op: "failover" }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("zombie" as const), c: client, k: fc.nat(9), retry: fc.boolean() }) },
  { weight: 3, arbitrary: fc.constantFrom<FaultKind>("failBefore", "failAfter", "delay").map((kind): Step => ({ op: "fault", kind })) },
  { weight: 2, arbitrary: fc.constant<Step>({ op: "release" }) },
);

/** The default mix with edits, deletes and reactions interleaved. */
export const changeStepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: stepArb },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("change" as const), c: client, what: fc.constantFrom<ChangeWhat>("edit", "delete", "react", "unreact"), k: fc.nat(9) }) },
);

/** The default mix plus resumes routed to a stale owner (see regressions.test.ts). */
export const staleStepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 10, arbitrary: stepArb },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("staleResume" as const), c: client, k: fc.nat(9) }) },
);

class StepCommand implements fc.AsyncCommand<object, World> {
  constructor(readonly step: Step) {}
  check(): boolean {
    return true;
  }
  run(_m: object, w: World): Promise<void> {
    return runStep(w, this.step);
  }
  toString(): string {
    return JSON.stringify(this.step);
  }
}

/** End of a run: faults off, every cid retried, every client resumed: all must converge (G2–G4). */
export async function finish(w: World): Promise<void> {
  w.faults.reset();
  w.faults.release();
  await w.quiet();
  for (const cl of w.clients) for (const cid of cl.cids) w.publish(w.route, cl.i, cid);
  await w.quiet();
  // Every change again, unchanged: one already committed is answered with its seq (G3), never refused.
  for (const r of w.changes.requests.values()) w.sendChange(r);
  await w.quiet();
  for (const cl of w.clients) void w.resume(cl.i);
  await w.quiet();
  const journal = await w.check();
  for (const cl of w.clients) {
    for (const cid of cl.cids) if (!w.acked.has(cid)) w.fail(`G3: ${cid} still unacked after a fault-free retry`);
    if (cl.lastSeen !== journal.length) w.fail(`G4: final resume of c${cl.i} reached ${cl.lastSeen} of ${journal.length}`);
  }
  await w.check();
  await w.checkCurrent();
}

/** Runs one list of steps from a fresh world, then the end-of-run convergence checks. */
export async function runSteps(steps: Iterable<Step>, opts: WorldOptions): Promise<World> {
  const w = new World(opts);
  await w.setup();
  await w.quiet();
  for (const s of steps) await runStep(w, s);
  await finish(w);
  return w;
}

/** The property: any command sequence keeps G1–G5 (opts is built per run: a fresh store or a shared one). */
export function channelProperty(opts: () => WorldOptions | Promise<WorldOptions>, maxCommands = 30, steps = stepArb) {
  return fc.asyncProperty(fc.commands([steps.map((s) => new StepCommand(s))], { maxCommands, size: "medium" }), async (cmds) => {
    const w = new World(await opts());
    await w.setup();
    await w.quiet();
    await fc.asyncModelRun(() => ({ model: {}, real: w }), cmds);
    await finish(w);
  });
}

export const SEED = Number(process.env.STORM_PROP_SEED ?? 20_240_611);
export const RUNS = Number(process.env.STORM_PROP_RUNS ?? 200);

/** fc.assert with the CI seed; the seed and the shrunk steps are printed on failure. */
export async function assertChannel(prop: fc.IAsyncProperty<[Iterable<fc.AsyncCommand<object, World>>]>, numRuns = RUNS, seed = SEED): Promise<void> {
  try {
    await fc.assert(prop, { numRuns, seed, endOnFailure: false });
  } catch (err) {
    console.error(`channel model failed with STORM_PROP_SEED=${seed} (numRuns ${numRuns})`);
    throw err;
  }
}
