import { type InspectCommand, InspectUsageError, USAGE, normalizeUrl, parseInspectArgs } from "./args.ts";
import { packageVersion } from "./cli_args.ts";
import { AdminClient, type FetchLike, InspectServerError } from "./client.ts";
import {
  type ActorRow, type Mode, type NodeRow, type NodeStatus, type NodeView, type PlacementEntry,
  actorDetail, mergePlacements, nodeMatches, nodeRow, renderActor, renderActors, renderNodes, resolveNode, statusActors,
} from "./views.ts";

export { USAGE } from "./args.ts";

export interface InspectIo {
  out(text: string): void;
  err(text: string): void;
  /** STORM_URL and STORM_TOKEN are read from here (the CLI passes process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  fetch?: FetchLike;
  timeoutMs?: number;
}

interface Ctx {
  client: AdminClient;
  io: InspectIo;
  json: boolean;
}

/**
 * Runs `storm inspect` with the arguments after `inspect`; returns the exit status: 0 done,
 * 1 the server failed, refused or could not be reached, 2 bad usage (or a cluster-only command
 * against a single node). Errors are one line on stderr: `storm inspect: Cannot ...`.
 */
export async function runInspect(argv: readonly string[], io: InspectIo): Promise<number> {
  let action = "run";
  try {
    let args: ReturnType<typeof parseInspectArgs>;
    try {
      args = parseInspectArgs(argv, io.env ?? {});
    } catch (err) {
      if (!(err instanceof InspectUsageError)) throw err;
      io.err(`storm inspect: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (args.command.cmd === "help") {
      io.out(USAGE);
      return 0;
    }
    if (args.command.cmd === "version") {
      io.out(`storm ${packageVersion()}`);
      return 0;
    }
    action = describe(args.command);
    const client = new AdminClient(args.url, args.token, { fetch: io.fetch, timeoutMs: io.timeoutMs, note: (t) => io.err(t) });
    return await run(args.command, { client, io, json: args.json });
  } catch (err) {
    if (err instanceof InspectUsageError) {
      io.err(`storm inspect: ${err.message}`);
      return 2;
    }
    if (err instanceof InspectServerError) {
      io.err(`storm inspect: ${errorLine(action, err)}`);
      return 1;
    }
    throw err;
  }
}

/** `Cannot <action>: <server message> (<code>)`; a message that already says "Cannot ..." stands alone. */
export function errorLine(action: string, err: InspectServerError): string {
  const text = err.message.startsWith("Cannot ") ? err.message : `Cannot ${action}: ${err.message}`;
  return err.status >= 400 ? `${text} (${err.code})` : text;
}

function describe(c: Exclude<InspectCommand, { cmd: "help" | "version" }>): string {
  switch (c.cmd) {
    case "nodes":
      return "list nodes";
    case "actors":
      return "list actors";
    case "actor":
      return `inspect ${c.id}`;
    case "migrate":
      return `migrate ${c.id} to ${c.to}`;
    case "drain":
      return `drain ${c.node}`;
  }
}

async function run(c: Exclude<InspectCommand, { cmd: "help" | "version" }>, ctx: Ctx): Promise<number> {
  switch (c.cmd) {
    case "nodes":
      return nodes(ctx);
    case "actors":
      return actors(ctx, c.prefix, c.node);
    case "actor":
      return actor(ctx, c.id);
    case "migrate":
      return migrate(ctx, c.id, c.to);
    case "drain":
      return drain(ctx, c.node);
  }
}

async function nodes(ctx: Ctx): Promise<number> {
  const live = await clusterNodes(ctx.client);
  let rows: NodeRow[];
  if (live === null) {
    const s = await status(ctx.client, ctx.client.base);
    rows = [nodeRow({ node: s.node, address: ctx.client.base, self: true }, s)];
  } else {
    const st = await statuses(ctx, live);
    rows = live.map((n) => nodeRow(n, st.get(n.node)?.status, st.get(n.node)?.error ?? null));
  }
  print(ctx, { mode: modeOf(live), nodes: rows }, () => renderNodes(rows));
  return 0;
}

async function actors(ctx: Ctx, prefix: string, node: string | undefined): Promise<number> {
  const live = await clusterNodes(ctx.client);
  let rows: ActorRow[];
  if (live === null) {
    const s = await status(ctx.client, ctx.client.base);
    rows = node === undefined || nodeMatches(s.node, node) ? statusActors(s, prefix) : [];
  } else {
    let placed = await placements(ctx.client, prefix);
    if (node !== undefined) placed = placed.filter((p) => nodeMatches(p.placement.node, node));
    const owners = new Set(placed.map((p) => p.placement.node));
    const st = await statuses(ctx, live.filter((n) => owners.has(n.node)));
    const byNode = new Map<string, NodeStatus>();
    for (const [id, r] of st) if (r.status) byNode.set(id, r.status);
    rows = mergePlacements(placed, byNode);
  }
  print(ctx, { mode: modeOf(live), actors: rows }, () => renderActors(rows));
  return 0;
}

async function actor(ctx: Ctx, id: string): Promise<number> {
  const live = await clusterNodes(ctx.client);
  if (live === null) {
    const d = actorDetail("single", id, null, [await status(ctx.client, ctx.client.base)]);
    print(ctx, d, () => renderActor(d));
    return 0;
  }
  const [placed, st] = await Promise.all([placements(ctx.client, id), statuses(ctx, live)]);
  const found = placed.find((p) => p.id === id)?.placement ?? null;
  const answered = [...st.values()].flatMap((r) => (r.status ? [r.status] : []));
  const unreachable = [...st].filter(([, r]) => !r.status).map(([n]) => n);
  const d = actorDetail("cluster", id, found, answered, unreachable);
  print(ctx, d, () => renderActor(d));
  return 0;
}

async function migrate(ctx: Ctx, id: string, toName: string): Promise<number> {
  const live = await requireCluster(ctx, `migrate ${id}`);
  const to = resolveNode(live.map((n) => n.node), toName);
  const r = await ctx.client.post<{ from: string | null; to: string }>("/admin/migrate", { actor: id, to });
  const out = { actor: id, from: r.from ?? null, to: r.to };
  print(ctx, out, () => (out.from === out.to ? `${id} is already on ${out.to}` : `migrated ${id}: ${out.from ?? "(unplaced)"} -> ${out.to}`));
  return 0;
}

async function drain(ctx: Ctx, nodeName: string): Promise<number> {
  const live = await requireCluster(ctx, `drain ${nodeName}`);
  const node = resolveNode(live.map((n) => n.node), nodeName);
  const r = await ctx.client.post<{ moved: number; failed: string[] }>("/admin/drain", { node });
  const out = { node, moved: r.moved, failed: Array.isArray(r.failed) ? r.failed : [] };
  print(ctx, out, () => [`drained ${node}: moved ${out.moved} actor${out.moved === 1 ? "" : "s"}`, ...out.failed.map((f) => `not moved: ${f}`)].join("\n"));
  if (out.failed.length === 0) return 0;
  ctx.io.err(`storm inspect: Cannot move ${out.failed.length} of ${out.moved + out.failed.length} actors off ${node}: ${out.failed.join(", ")}`);
  return 1;
}

function print(ctx: Ctx, data: unknown, text: () => string): void {
  ctx.io.out(ctx.json ? JSON.stringify(data, null, 2) : text());
}

function modeOf(live: NodeView[] | null): Mode {
  return live === null ? "single" : "cluster";
}

/** The live nodes, or null when the node is not in cluster mode (`/admin/*` answers 404 not_found). */
async function clusterNodes(c: AdminClient): Promise<NodeView[] | null> {
  try {
    return arrayField<NodeView>(await c.get("/admin/nodes"), "nodes", "/admin/nodes");
  } catch (err) {
    if (err instanceof InspectServerError && err.status === 404 && err.code === "not_found") return null;
    throw err;
  }
}

async function requireCluster(ctx: Ctx, action: string): Promise<NodeView[]> {
  const live = await clusterNodes(ctx.client);
  if (live === null) throw new InspectUsageError(`Cannot ${action}: ${ctx.client.base} is a single node, not in cluster mode (migrate and drain need a cluster)`);
  return live;
}

async function placements(c: AdminClient, prefix: string): Promise<PlacementEntry[]> {
  return arrayField<PlacementEntry>(await c.get(`/admin/placements?prefix=${encodeURIComponent(prefix)}`), "placements", "/admin/placements");
}

async function status(c: AdminClient, base: string): Promise<NodeStatus> {
  const s = await c.get<NodeStatus>("/status", base);
  arrayField(s, "actors", `${base}/status`);
  return s;
}

/**
 * `/status` of each node, in parallel: the node the operator named is asked at `--url`, the others
 * at their advertised address. A node that fails is reported on stderr and left out (its live
 * values print as "-"): one dead node must not hide the rest of the cluster.
 */
type StatusResult = { status?: NodeStatus; error?: string };

async function statuses(ctx: Ctx, nodes: readonly NodeView[]): Promise<Map<string, StatusResult>> {
  const results = await Promise.all(nodes.map(async (n): Promise<[string, StatusResult]> => {
    let base = n.address;
    try {
      base = n.self ? ctx.client.base : normalizeUrl(n.address);
      return [n.node, { status: await status(ctx.client, base) }];
    } catch (err) {
      if (!(err instanceof InspectServerError) && !(err instanceof InspectUsageError)) throw err;
      const why = err instanceof InspectServerError ? errorLine(`read /status of ${n.node} at ${base}`, err) : err.message;
      ctx.io.err(`storm inspect: warning: ${why}`);
      return [n.node, { error: why }];
    }
  }));
  return new Map(results);
}

function arrayField<T>(body: unknown, key: string, what: string): T[] {
  const v = (body as Record<string, unknown> | null)?.[key];
  if (!Array.isArray(v)) throw new InspectServerError(`Cannot read the reply of ${what}: no "${key}" list`, 200, "bad_reply");
  return v as T[];
}
