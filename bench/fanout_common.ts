// Shared definitions for the fan-out benchmark: targets, message body format, clock, IPC shapes.

export type TargetName = 'raw-batched' | 'raw' | 'socketio' | 'storm';
export const ALL_TARGETS: TargetName[] = ['raw-batched', 'raw', 'socketio', 'storm'];

/** Wire protocol spoken by the load clients for a target. */
export type Proto = 'raw' | 'sio' | 'storm';
export function protoOf(t: TargetName): Proto {
  return t === 'socketio' ? 'sio' : t === 'storm' ? 'storm' : 'raw';
}

/** Storm channel name used by the benchmark. */
export const CHANNEL = 'bench';

/**
 * Microseconds on CLOCK_MONOTONIC (libuv hrtime). The clock is system-wide on Linux, so a value
 * taken in the publisher process is directly comparable with one taken in a subscriber process.
 */
export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * Message body: `<publisher seq>,<send time µs>,<padding>`. ASCII only, no quotes/backslashes, so it
 * can be embedded verbatim in JSON strings and raw frames. Padded with 'x' up to `size` bytes.
 */
export function makeBody(seq: number, tsUs: number, size: number): string {
  const head = `${seq},${tsUs},`;
  return size > head.length ? head + 'x'.repeat(size - head.length) : head;
}

/** Send timestamp (µs) from a body string made by makeBody. NaN if malformed. */
export function bodyTs(body: string): number {
  const a = body.indexOf(',');
  const b = body.indexOf(',', a + 1);
  return a < 0 || b < 0 ? NaN : Number(body.slice(a + 1, b));
}

/** Options every load process receives with its `init` command. */
export interface WorkerInit {
  role: 'sub' | 'pub';
  proto: Proto;
  host: string;
  port: number;
  /** sub: number of subscriber connections this process opens. */
  count: number;
  /** sub: index of the first subscriber (for distinct Storm user names). */
  firstIndex: number;
  localAddress?: string;
  /** pub: offered rate in msg/s; 0 = as fast as the ack window allows. */
  rate: number;
  /** pub: max publishes awaiting an ack. */
  window: number;
  /** pub: body size in bytes. */
  size: number;
  /** sub: record the latency of one delivered message in `sample`. */
  sample: number;
  /** Unique per run, used in Storm client ids. */
  runId: string;
  /**
   * Process group of the server under test. If the driver dies without saying goodbye (even
   * SIGKILL closes the IPC channel), the load process kills this group so no server is orphaned.
   */
  guardPgid?: number;
}

/** Reply to `stop-measure` from a subscriber process. */
export interface SubReport {
  subs: number;
  connected: number;
  closed: number;
  delivered: number;
  elapsedUs: number;
  gaps: number;
  missing: number;
  reorders: number;
  badFrames: number;
  errors: number;
  /** hdr histogram of latencies in µs, compressed base64. */
  hist: string;
}

/** Reply to `stop-measure` from the publisher process. */
export interface PubReport {
  sent: number;
  acked: number;
  errors: number;
  elapsedUs: number;
  /** Fixed-rate mode: timer ticks that found the ack window full while messages were due. */
  windowStalls: number;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
