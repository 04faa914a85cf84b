// Shared definitions for the connections benchmark, scenario (d): targets and IPC shapes.

/** `centrifugo`: Centrifugo v6, memory engine (bench/baselines/centrifugo.ts), skipped when it cannot be built. */
export type ConnsTarget = 'storm' | 'raw' | 'socketio' | 'centrifugo';
export const CONNS_TARGETS: ConnsTarget[] = ['raw', 'socketio', 'centrifugo', 'storm'];

/** Options every load process receives with its `init` command. */
export interface ConnsWorkerInit {
  target: ConnsTarget;
  /** One port per server process; connection k of this worker goes to ports[(firstIndex + k) % n]. */
  ports: number[];
  /** Connections this process opens. */
  count: number;
  /** Global index of its first connection (Storm user names are `c<index>`). */
  firstIndex: number;
  /** Source address of every socket of this process (127.0.0.2, 127.0.0.3, ...). */
  localAddress: string;
  /** Connects per second for this process; 0 = as fast as `concurrency` allows. */
  rate: number;
  /** Handshakes in flight at most. */
  concurrency: number;
  /** A connection not ready (welcome / open / connect ack) within this time fails as `timeout`. */
  readyTimeoutMs: number;
  /** Storm: the node's JWT secret (STORM_JWT_SECRET); Centrifugo: its connection-token HMAC secret. Tokens are signed here, as an auth service would. */
  jwtSecret?: string;
  /** Process groups to kill if the driver disappears without saying goodbye. */
  guardPgids: number[];
}

/** Reply to `progress`. */
export interface ConnsProgress {
  attempted: number;
  connected: number;
  failed: number;
  /** Ready connections closed since (by close code, or `error`). */
  closed: number;
  done: boolean;
}

/** Reply to `report`. */
export interface ConnsWorkerReport extends ConnsProgress {
  /** Ready connections still open now. */
  open: number;
  /** Failures and closes by kind: `connect:ECONNREFUSED`, `timeout`, `http:401`, `closed:1006`... */
  errors: Record<string, number>;
  /** First message of each kind (for the log). */
  samples: Record<string, string>;
  /** Source ports found taken and skipped (not failures). */
  portsSkipped: number;
  /** µs from the first connect attempt to the last connection ready. */
  connectUs: number;
  /** hdr histogram of connect latency (socket opened -> ready), µs, compressed base64. */
  hist: string;
  rssBytes: number;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
