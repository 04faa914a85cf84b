import { InspectUsageError } from "./args.ts";
import { type Cell, type Column, formatDuration, formatPairs, formatTable, formatValue } from "./table.ts";

import type { NodeView } from "../edge/admin_api.ts";

/** `GET /admin/nodes` entries: the server's own type, so the two cannot drift apart. */
export type { NodeView };

/** One `GET /status` actor: the summary plus the actor's own `inspect()` detail. */
export interface StatusActor {
  id: string;
  worker: number;
  epoch: number;
  state: string;
  depth: number;
  idleMs: number;
  [detail: string]: unknown;
}

/** `GET /status`. */
export interface NodeStatus {
  node: string;
  connections: number;
  channels: number;
  delivered: number;
  workers: Array<{ index: number; actors: number }>;
  actors: StatusActor[];
}

export interface Placement {
  node: string;
  worker: number;
  epoch: number;
}

/** `GET /admin/placements` entries. */
export interface PlacementEntry {
  id: string;
  placement: Placement;
}

export type Mode = "cluster" | "single";

/** A row of `storm inspect nodes` (also its JSON shape: every key always present, null if unknown). */
export interface NodeRow {
  node: string;
  address: string;
  self: boolean;
  leaseAgeMs: number | null;
  load: number | null;
  connections: number | null;
  channels: number | null;
  delivered: number | null;
  workers: number | null;
  actors: number | null;
  /** Why the live stats are missing (the node's /status failed), else null. */
  error: string | null;
}

/** A row of `storm inspect actors` (also its JSON shape). */
export interface ActorRow {
  id: string;
  node: string | null;
  worker: number | null;
  epoch: number | null;
  state: string | null;
  depth: number | null;
  lastSeq: number | null;
  idleMs: number | null;
  snapshotAgeMs: number | null;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** A node's row: lease data from the cluster view (null in single-node mode), live stats from its /status. */
export function nodeRow(view: Pick<NodeView, "node" | "address" | "self"> & Partial<NodeView>, status: NodeStatus | undefined, error: string | null = null): NodeRow {
  return {
    node: view.node,
    address: view.address,
    self: view.self,
    leaseAgeMs: num(view.leaseAgeMs),
    load: num(view.load),
    connections: num(status?.connections),
    channels: num(status?.channels),
    delivered: num(status?.delivered),
    workers: Array.isArray(status?.workers) ? status.workers.length : null,
    actors: Array.isArray(status?.actors) ? status.actors.length : null,
    error: status ? null : error,
  };
}

/** An actor's row: where it is placed (or, single node, where it runs) plus its live state if known. */
export function actorRow(id: string, where: Placement | null, live: StatusActor | undefined): ActorRow {
  return {
    id,
    node: where?.node ?? null,
    worker: where ? where.worker : num(live?.worker),
    epoch: where ? where.epoch : num(live?.epoch),
    state: typeof live?.state === "string" ? live.state : null,
    depth: num(live?.depth),
    lastSeq: num(live?.lastSeq),
    idleMs: num(live?.idleMs),
    snapshotAgeMs: num(live?.snapshotAgeMs),
  };
}

/** Cluster: each placement joined with the entry of its owning node's /status (if that node answered). */
export function mergePlacements(placements: readonly PlacementEntry[], statusByNode: ReadonlyMap<string, NodeStatus>): ActorRow[] {
  return placements
    .map(({ id, placement }) => actorRow(id, placement, statusByNode.get(placement.node)?.actors.find((a) => a.id === id)))
    .sort(byId);
}

/** Single node: the actors of its /status. */
export function statusActors(status: NodeStatus, prefix = ""): ActorRow[] {
  return status.actors
    .filter((a) => a.id.startsWith(prefix))
    .map((a) => actorRow(a.id, { node: status.node, worker: a.worker, epoch: a.epoch }, a))
    .sort(byId);
}

function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Does node id `id` (`n1.lx2k9a` in a cluster) answer to `name` (the full id, or the part before the dot)? */
export function nodeMatches(id: string, name: string): boolean {
  return id === name || id.startsWith(`${name}.`);
}

/**
 * The one node id among `known` that `name` designates; `name` itself if none does (the server
 * decides: drain may name a dead node). Two matches (two incarnations of one node) are ambiguous.
 * @throws {InspectUsageError}
 */
export function resolveNode(known: readonly string[], name: string): string {
  if (known.includes(name)) return name;
  const hits = [...new Set(known.filter((id) => nodeMatches(id, name)))];
  if (hits.length > 1) throw new InspectUsageError(`Cannot pick node "${name}": it may be any of ${hits.sort().join(", ")}; give the full id`);
  return hits[0] ?? name;
}

const NODE_COLUMNS: Column[] = [
  { header: "NODE" },
  { header: "ADDRESS" },
  { header: "SELF" },
  { header: "LEASE AGE", align: "right" },
  { header: "LOAD", align: "right" },
  { header: "CONNS", align: "right" },
  { header: "CHANNELS", align: "right" },
  { header: "WORKERS", align: "right" },
  { header: "ACTORS", align: "right" },
];

export function renderNodes(rows: readonly NodeRow[]): string {
  return formatTable(NODE_COLUMNS, rows.map((r) => [
    r.node, r.address, r.self ? "*" : "", r.leaseAgeMs === null ? null : formatDuration(r.leaseAgeMs), r.load,
    r.connections, r.channels, r.workers, r.actors,
  ]));
}

const ACTOR_COLUMNS: Column[] = [
  { header: "ACTOR" },
  { header: "NODE" },
  { header: "WORKER", align: "right" },
  { header: "EPOCH", align: "right" },
  { header: "STATE" },
  { header: "DEPTH", align: "right" },
  { header: "LAST SEQ", align: "right" },
  { header: "IDLE", align: "right" },
  { header: "SNAPSHOT AGE", align: "right" },
];

export function renderActors(rows: readonly ActorRow[]): string {
  if (rows.length === 0) return `${formatTable(ACTOR_COLUMNS, [])}\n(no actors)`;
  return formatTable(ACTOR_COLUMNS, rows.map((r) => [
    r.id, r.node, r.worker, r.epoch, r.state, r.depth, r.lastSeq,
    r.idleMs === null ? null : formatDuration(r.idleMs), r.snapshotAgeMs === null ? null : formatDuration(r.snapshotAgeMs),
  ]));
}

/** Everything known about one actor (also the JSON shape of `storm inspect actor`). */
export interface ActorDetail {
  mode: Mode;
  id: string;
  /** Cluster placement; null when unplaced or in single-node mode. */
  placement: Placement | null;
  /** Every live activation found on the nodes that answered: the /status entry plus its node. */
  activations: Array<{ node: string } & Omit<StatusActor, "id">>;
  /** Nodes whose /status could not be read (the actor may be live there). */
  unreachable: string[];
}

export function actorDetail(mode: Mode, id: string, placement: Placement | null, statuses: readonly NodeStatus[], unreachable: readonly string[] = []): ActorDetail {
  const activations: ActorDetail["activations"] = [];
  for (const s of statuses) {
    const hit = s.actors.find((a) => a.id === id);
    if (!hit) continue;
    const { id: _id, node: _node, ...rest } = hit;
    activations.push({ node: s.node, ...rest } as ActorDetail["activations"][number]);
  }
  activations.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  return { mode, id, placement, activations, unreachable: [...unreachable].sort() };
}

export function renderActor(d: ActorDetail): string {
  const p = d.placement;
  const head: Array<[string, Cell]> = [
    ["actor", d.id],
    ["mode", d.mode === "cluster" ? "cluster" : "single node (no placements)"],
  ];
  if (d.mode === "cluster") head.push(["placement", p ? `node ${p.node}, worker ${p.worker}, epoch ${p.epoch}` : "(none)"]);
  if (d.unreachable.length > 0) head.push(["unreachable", d.unreachable.join(", ")]);
  const parts = [formatPairs(head)];
  if (d.activations.length === 0) parts.push("not active on any node that answered");
  for (const a of d.activations) {
    // A second activation off the placed node is an old one being fenced (migration, takeover).
    const stale = d.mode === "cluster" && p !== null && a.node !== p.node ? " (not the placed node)" : "";
    const pairs = Object.entries(a).filter(([k]) => k !== "node").map(([k, v]): [string, Cell] => [k, formatValue(k, v)]);
    parts.push(`active on ${a.node}${stale}:\n${formatPairs(pairs, "  ")}`);
  }
  return parts.join("\n");
}
