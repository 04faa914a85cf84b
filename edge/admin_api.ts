/** One live node as the operator routes (`GET /admin/nodes`) report it. */
export interface NodeView {
  node: string;
  address: string;
  leaseAgeMs: number;
  load: number;
  self: boolean;
}

/**
 * The operator actions the REST surface exposes under `/admin/*` (cluster mode only). The edge
 * depends on this contract; the cluster runtime implements it (`runtime/cluster/cluster_admin.ts`).
 */
export interface AdminApi {
  nodes(): NodeView[];
  placements(prefix?: string): Promise<Array<{ id: string; placement: { node: string; worker: number; epoch: number } }>>;
  migrate(id: string, to: string): Promise<{ from: string | null; to: string }>;
  drain(node: string): Promise<{ moved: number; failed: string[] }>;
}
