// Shared definitions of the durable-publish benchmark (scenario c): IPC shapes between the driver
// (bench/durable_bench.ts) and its load processes (bench/durable_load_worker.ts).

/** One publisher connection: its user and the channels it publishes to, round-robin. */
export interface PubConnSpec {
  user: string;
  channels: string[];
}

/** `init` of a Storm publisher process. */
export interface PubInit {
  role: 'pub';
  host: string;
  port: number;
  localAddress: string;
  conns: PubConnSpec[];
  /** Publishes awaiting their ack, per connection. */
  window: number;
  /** Most `pub` frames in one WebSocket message (an array). */
  batch: number;
  /** Body size in bytes. */
  size: number;
  /** Offered publishes/s for this process; 0 = as fast as the windows allow (closed loop). */
  rate: number;
  /** Unique per run: prefix of client ids. */
  runId: string;
  /** Process group of the server: killed if the driver vanishes. */
  guardPgid: number;
}

/** `init` of a raw-`pg` baseline process. */
export interface RawPgInit {
  role: 'rawpg';
  url: string;
  /** Concurrent connections, each running one INSERT transaction at a time. */
  conns: number;
  /** Rows per INSERT statement (one statement = one transaction). */
  rows: number;
  /** Distinct actor ids the rows are spread over, round-robin (the channels). */
  actors: number;
  size: number;
  /** Actor id prefix, unique per process. */
  prefix: string;
}

export type LoadInit = PubInit | RawPgInit;

/** Reply to `stop-measure`. */
export interface LoadReport {
  /** Publishes sent (pub) or rows sent (rawpg) in the measured window. */
  sent: number;
  /** Publishes acknowledged (pub) or rows committed (rawpg) in the measured window. */
  acked: number;
  /** rawpg: transactions committed in the measured window. */
  txns: number;
  errors: number;
  /** Acks with `dup: true`: a fresh client id must never get one. */
  dups: number;
  elapsedUs: number;
  /** Ack latency (pub) or transaction latency (rawpg) in µs, hdr histogram, compressed base64. */
  hist: string;
  firstError: string;
}

/** Reply to `stop`: everything acknowledged since start, per channel, for the durability check. */
export interface StopReport {
  outstanding: number;
  /** channel → [acks, highest acked seq]. */
  acked: Record<string, [number, number]>;
}

/**
 * Body of a publish or a baseline row: `<tag>,` padded with `x` to `size` bytes. ASCII, no quotes,
 * so it is embedded verbatim in a JSON frame. (Latency is timed by request id, not from the body.)
 */
export function makeBody(tag: number, size: number): string {
  const head = `${tag},`;
  return size > head.length ? head + 'x'.repeat(size - head.length) : head;
}
