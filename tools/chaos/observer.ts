import type { WriteStream } from "node:fs";
import type { LocalCluster } from "../../deploy/local_cluster.ts";

/**
 * Samples what the cluster says about itself during a chaos run, for whoever analyses a failure
 * or a slow failover afterwards: every `everyMs`, the placements of the chaos channels (asked of
 * one node up) and each node's `/status` (its actors with state, epoch and mailbox depth), as one
 * JSON line. Read-only and cheap: a few admin calls per period, each with a short timeout.
 */
export function observeCluster(o: {
  cluster: LocalCluster;
  adminToken: string;
  up(): number[];
  out: WriteStream;
  everyMs: number;
}): () => void {
  let busy = false;
  const get = async (i: number, path: string): Promise<unknown> => {
    try {
      const res = await fetch(`${o.cluster.nodes[i]!.url}${path}`, {
        headers: { authorization: `Bearer ${o.adminToken}` },
        signal: AbortSignal.timeout(Math.max(500, o.everyMs - 100)),
      });
      return res.ok ? await res.json() : { error: res.status };
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err) };
    }
  };
  const sample = async () => {
    if (busy) return;
    busy = true;
    try {
      const up = o.up();
      const t = Date.now();
      const [placements, ...status] = await Promise.all([
        up.length > 0 ? get(up[0]!, "/admin/placements?prefix=channel%3A") : Promise.resolve(null),
        ...up.map((i) => get(i, "/status")),
      ]);
      const nodes = Object.fromEntries(up.map((i, k) => [o.cluster.nodes[i]!.id, status[k]]));
      o.out.write(`${JSON.stringify({ t, placements, nodes })}\n`);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void sample(), o.everyMs);
  return () => clearInterval(timer);
}
