import { Random } from "./random.ts";

/**
 * What the nemesis can do to a cluster:
 * - `kill`: SIGKILL a node (a crash), restart it after `holdMs`;
 * - `pause`: SIGSTOP a node for `holdMs` (longer than its lease), then SIGCONT: it must notice it
 *   lost its lease, drop its actors and rejoin in place as a new incarnation (not exit);
 * - `restart`: a graceful restart (SIGTERM, start again);
 * - `migrate`: move a channel's actor to another live node (`POST /admin/migrate`);
 * - `drain`: move every actor off a node (`POST /admin/drain`); the node stays up.
 */
export type FaultKind = "kill" | "pause" | "restart" | "migrate" | "drain";

export const FAULT_KINDS: readonly FaultKind[] = ["kill", "pause", "restart", "migrate", "drain"];

/** Kinds that take a node down for a while. */
export const NODE_DOWN_KINDS: ReadonlySet<FaultKind> = new Set(["kill", "pause", "restart"]);

/** How often each kind is drawn, beyond the one of each kind every schedule starts with. */
const WEIGHTS: Record<FaultKind, number> = { kill: 3, pause: 2, restart: 1, migrate: 3, drain: 1 };

export interface Fault {
  /** Position in the schedule, from 0. */
  index: number;
  kind: FaultKind;
  /** When to inject it, ms after the fault phase starts. */
  atMs: number;
  /** Node index: the victim of kill, pause and restart (unless `channel` names another), the node to drain. */
  node?: number;
  /**
   * Channel index: the channel to migrate; for kill, pause and restart, the channel whose owner to
   * hit when that node is up (where actors live is only known at run time), else `node`.
   */
  channel?: number;
  /** In [0, 1): chooses the migration target among the nodes live at that moment. */
  pick?: number;
  /** kill: how long the node stays dead before its restart; pause: how long it stays stopped. */
  holdMs?: number;
  /** The node's expected downtime (hold, then exit and restart); 0 for migrate and drain. */
  downMs: number;
}

export interface PlanOptions {
  seed: number;
  faults: number;
  /** The fault phase's intended length; faults are spread over it (the plan may run past it when node faults cannot fit). */
  durationMs: number;
  nodes: number;
  channels: number;
  leaseMs: number;
  /** Expected time for a node to start again (process, PostgreSQL, Hazelcast). Default 3000. */
  restartMs?: number;
  /** No fault before this (clients connect and start publishing). Default 3000. */
  warmupMs?: number;
}

/**
 * Node faults that may overlap: strictly fewer than half the nodes, so a majority is always up,
 * and at least one for 2 nodes (one node up). A single node cannot take node faults.
 */
export function maxDown(nodes: number): number {
  return nodes < 2 ? 0 : Math.max(1, Math.floor((nodes - 1) / 2));
}

/**
 * A chaos schedule drawn from a seed: the same options give the same faults, in time order. Every
 * kind appears at least once when there are at least as many faults as kinds. Node faults are
 * placed so that, with each node down for its modelled `downMs`, at most `maxDown(nodes)` are
 * down at any moment and a node is never hit while it is down (the injector enforces the same
 * rule on the real cluster, waiting when a node takes longer than modelled to come back).
 *
 * @example
 * const plan = planFaults({ seed: 1, faults: 24, durationMs: 120_000, nodes: 3, channels: 4, leaseMs: 2000 });
 * plan.filter((f) => f.kind === "kill").length; // the same number on every run with seed 1
 */
export function planFaults(o: PlanOptions): Fault[] {
  if (!Number.isInteger(o.faults) || o.faults < 0) throw new RangeError(`Cannot plan ${o.faults} faults`);
  if (o.channels < 1) throw new RangeError("Cannot plan faults without a channel");
  const rng = new Random(o.seed);
  const restartMs = o.restartMs ?? 3_000;
  const warmup = o.warmupMs ?? 3_000;
  const limit = maxDown(o.nodes);
  const kinds = drawKinds(rng, o.faults, limit > 0);
  // Slot i of the window holds fault i's nominal time; the tail leaves room for a last node fault.
  const tail = restartMs + o.leaseMs;
  const gap = Math.max(0, o.durationMs - warmup - tail) / Math.max(1, o.faults);
  const down: Array<{ node: number; from: number; to: number }> = [];
  const upAt = (t: number) => range(o.nodes).filter((n) => !down.some((d) => d.node === n && d.from <= t && t < d.to));

  const plan: Array<Omit<Fault, "index">> = [];
  // Node faults start in schedule order (so each sees every downtime that can overlap it), each
  // when fewer than `limit` nodes are modelled down; migrations and drains keep their slot.
  let lane = 0;
  for (const [i, kind] of kinds.entries()) {
    const nominal = warmup + gap * (i + rng.between(0.2, 0.8));
    if (kind === "migrate") {
      plan.push({ kind, atMs: Math.round(nominal), channel: rng.int(o.channels), pick: rng.next(), downMs: 0 });
      continue;
    }
    if (kind === "drain") {
      plan.push({ kind, atMs: Math.round(nominal), node: rng.pick(upAt(nominal)), downMs: 0 });
      continue;
    }
    let t = Math.max(nominal, lane);
    for (;;) {
      const covering = down.filter((d) => d.from <= t && t < d.to);
      if (covering.length < limit) break;
      t = Math.min(...covering.map((d) => d.to));
    }
    const node = rng.pick(upAt(t));
    const channel = rng.int(o.channels);
    const holdMs = kind === "kill" ? Math.round(rng.between(500, 2_000)) : kind === "pause" ? Math.round(o.leaseMs + rng.between(500, 2_500)) : 0;
    const downMs = holdMs + restartMs;
    const at = Math.round(t);
    lane = at;
    down.push({ node, from: at, to: at + downMs });
    plan.push({ kind, atMs: at, node, channel, ...(holdMs > 0 ? { holdMs } : {}), downMs });
  }
  return plan.sort((a, b) => a.atMs - b.atMs).map((f, index) => ({ index, ...f }));
}

/**
 * A rolling restart: every node in turn gets a graceful restart (`restart`: SIGTERM, which drains
 * it, then a start), the next one only once the previous one is back (the injector waits for a
 * slot: `maxDown` is 1 for 3 nodes), as a Kubernetes StatefulSet's rolling update does.
 *
 * @example
 * planRolling({ nodes: 3 }).map((f) => f.node); // [0, 1, 2]
 */
export function planRolling(o: { nodes: number; restartMs?: number; warmupMs?: number }): Fault[] {
  if (o.nodes < 2) throw new RangeError("Cannot roll a cluster of one node: its actors have nowhere to go");
  const restartMs = o.restartMs ?? 3_000;
  const warmup = o.warmupMs ?? 3_000;
  return range(o.nodes).map((node, index) => ({ index, kind: "restart", atMs: warmup + index * restartMs, node, downMs: restartMs }));
}

/** The kinds in schedule order: one of each first (when there is room), then by weight, shuffled. */
function drawKinds(rng: Random, n: number, nodeFaults: boolean): FaultKind[] {
  // A lone node can be neither taken down nor drained (nowhere to move its actors).
  const allowed = FAULT_KINDS.filter((k) => nodeFaults || (!NODE_DOWN_KINDS.has(k) && k !== "drain"));
  const total = allowed.reduce((s, k) => s + WEIGHTS[k], 0);
  const kinds: FaultKind[] = n >= allowed.length ? [...allowed] : [];
  while (kinds.length < n) {
    let r = rng.next() * total;
    const kind = allowed.find((k) => (r -= WEIGHTS[k]) < 0) ?? allowed.at(-1)!;
    kinds.push(kind);
  }
  return rng.shuffle(kinds);
}

/** When the last fault of a plan is over (its node modelled back up). */
export function planEndMs(plan: readonly Fault[]): number {
  return plan.reduce((end, f) => Math.max(end, f.atMs + f.downMs), 0);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
