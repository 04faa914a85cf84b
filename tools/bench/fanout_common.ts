// Shared definitions for the fan-out benchmark: targets, message body format, clock, IPC shapes.

/**
 * `storm-compact`: the same Storm server, subscribers connected with `?enc=compact`. `centrifugo`:
 * Centrifugo v6, memory engine (bench/baselines/centrifugo.ts), skipped when it cannot be built.
 */
export type TargetName = 'raw-batched' | 'raw' | 'socketio' | 'centrifugo' | 'storm' | 'storm-compact';
export const ALL_TARGETS: TargetName[] = ['raw-batched', 'raw', 'socketio', 'centrifugo', 'storm', 'storm-compact'];

export function isStorm(t: TargetName): boolean {
  return t === 'storm' || t === 'storm-compact';
}

/** Wire protocol spoken by the load clients for a target. */
export type Proto = 'raw' | 'sio' | 'cent' | 'storm' | 'storm-compact';
export function protoOf(t: TargetName): Proto {
  return t === 'socketio' ? 'sio' : t === 'centrifugo' ? 'cent' : t === 'raw' || t === 'raw-batched' ? 'raw' : t;
}

/** Storm channel name of channel index `i` (one-channel runs keep the historical name `bench`). */
export function channelName(i: number, channels: number): string {
  return channels === 1 ? 'bench' : `r${i}`;
}

/** Channel index from a Storm channel name made by channelName. */
export function channelIndex(name: string): number {
  return name === 'bench' ? 0 : Number(name.slice(1));
}

/**
 * The channels subscriber connection `i` of `connections` subscribes to: `perConn` channels,
 * i*perConn .. i*perConn+perConn-1 (mod `channels`). With connections*perConn = channels*k every
 * channel gets exactly k subscribers: 1 channel x 1,000 (one huge room) or 10,000 channels x 10
 * (many small rooms, each connection in 10 of them).
 */
export function channelsOf(i: number, perConn: number, channels: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < Math.min(perConn, channels); k++) out.push((i * perConn + k) % channels);
  return out;
}

/**
 * Microseconds on CLOCK_MONOTONIC (libuv hrtime). The clock is system-wide on Linux, so a value
 * taken in the publisher process is directly comparable with one taken in a subscriber process.
 */
export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * Message body: `<publisher seq>,<send time µs>,<channel index>,<padding>`. ASCII only, no
 * quotes/backslashes, so it can be embedded verbatim in JSON strings and raw frames. Padded with 'x'
 * up to `size` bytes. The publisher seq counts per channel.
 */
export function makeBody(seq: number, tsUs: number, ch: number, size: number): string {
  const head = `${seq},${tsUs},${ch},`;
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
  /** Server ports (cluster: one per node); subscriber i connects to ports[i % ports.length]. */
  ports: number[];
  /** Channels in the run, and channels per subscriber connection (see channelsOf). */
  channels: number;
  perConn: number;
  /** Subscriber connections in the whole run (all processes). */
  connections: number;
  /** sub: number of subscriber connections this process opens. */
  count: number;
  /** sub: index of the first subscriber (for distinct Storm user names). */
  firstIndex: number;
  /** sub: connections per second this process opens (0 = as fast as 32 lanes go). */
  ramp: number;
  /** pub: this publisher owns channels c with c % pubProcs === pubIndex. */
  pubIndex: number;
  pubProcs: number;
  localAddress?: string;
  /** pub: offered rate in msg/s (this process); 0 = as fast as the ack window allows. */
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
  /** Centrifugo: the run's connection-token secret and server API key. */
  centrifugo?: { tokenSecret: string; apiKey: string };
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
  /** WebSocket messages and their bytes received by the subscribers while measuring. */
  wireMessages: number;
  wireBytes: number;
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
