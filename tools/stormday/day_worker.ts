// A Storm Day load process (forked by stormday.ts, driven over IPC with bench/fanout_procs.ts's
// Worker): holds the bulk users [first, first + count) as DayConn's from one source address,
// ramps them up, publishes its share of the rate with the room mix, churns, health-checks the
// nodes as a load balancer would, and reports each second's counts and latency histograms.
// Commands: init, connect, sample, rate, reconnect, stop, exit; each gets one reply {re: cmd}.
import { build, encodeIntoCompressedBase64 } from "hdr-histogram-js";
import { SignJWT } from "jose";
import { serveCommands } from "../bench/load_ipc.ts";
import { SourcePorts } from "../bench/source_ports.ts";
import { type ConnSink, DayConn } from "./day_conn.ts";
import { Population } from "./population.ts";
import type { DayCounts } from "./timeline.ts";

export interface DayWorkerInit {
  index: number;
  users: number;
  groups: number;
  first: number;
  count: number;
  ports: number[];
  localAddress: string;
  jwtSecret: string;
  rampMs: number;
  /** Share of the ready connections closed and resumed each second (ordinary churn). */
  churnPerSec: number;
  readyTimeoutMs: number;
  pubTimeoutMs: number;
}

/** Reply to `sample`: the counts since the previous sample, histograms in µs (compressed base64). */
export interface DaySample extends DayCounts {
  errors: Record<string, number>;
  ackHist: string;
  deliverHist: string;
}

const HEALTH_EVERY_MS = 1_000;
const MAX_IN_FLIGHT = 64;
const newHist = () => build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 2 });

let cfg: DayWorkerInit;
let pop: Population;
let conns: DayConn[] = [];
/** Per connection: its room indexes bulk users may publish to, by kind. */
let targets: Array<{ small: number[]; dm: number[]; huge: number[] }> = [];
let ratePerSec = 0;
let inFlight = 0;
let counts = zero();
let ackHist = newHist();
let deliverHist = newHist();
const healthy = new Map<number, boolean>();
const misses = new Map<number, number>();
const timers: NodeJS.Timeout[] = [];

function zero() {
  return { attempts: 0, ready: 0, failed: 0, dropped: 0, churned: 0, pubs: 0, acks: 0, pubErrors: 0, delivered: 0, replayed: 0, gaps: 0, dups: 0, errors: {} as Record<string, number> };
}

function err(kind: string): void {
  counts.errors[kind] = (counts.errors[kind] ?? 0) + 1;
}

const sink: ConnSink = {
  ports: new SourcePorts(),
  localAddress: "",
  readyTimeoutMs: 15_000,
  onAttempt(ok, kind) {
    inFlight = Math.max(0, inFlight - 1);
    counts.attempts++;
    if (ok) counts.ready++;
    else {
      counts.failed++;
      err(kind ?? "connect");
    }
  },
  onDropped: (planned) => void (planned ? counts.churned++ : counts.dropped++),
  onAck(ms) {
    counts.acks++;
    ackHist.recordValue(Math.max(1, Math.round(ms * 1000)));
  },
  onPubError(code) {
    counts.pubErrors++;
    err(`pub:${code}`);
  },
  onDeliver(ms, live) {
    counts.delivered++;
    if (live) deliverHist.recordValue(Math.max(1, Math.round(ms * 1000)));
    else counts.replayed++;
  },
  onGap: (missing) => void (counts.gaps += missing),
  onDup: () => void counts.dups++,
  pickPort() {
    const up = cfg.ports.filter((p) => healthy.get(p) !== false);
    const from = up.length > 0 ? up : cfg.ports;
    return from[Math.floor(Math.random() * from.length)]!;
  },
  // The SDK's backoff (client/core/backoff.ts): full jitter, 250 ms doubling up to 15 s.
  backoffMs: (attempt) => Math.random() * Math.min(15_000, 250 * 2 ** Math.min(attempt, 6)),
};

async function init(c: DayWorkerInit): Promise<void> {
  cfg = c;
  sink.localAddress = c.localAddress;
  sink.readyTimeoutMs = c.readyTimeoutMs;
  pop = new Population({ users: c.users, groups: c.groups });
  const sampled = new Set(pop.sampledRooms());
  const key = new TextEncoder().encode(c.jwtSecret);
  const exp = Math.floor(Date.now() / 1000) + 24 * 3600;
  for (let i = c.first; i < c.first + c.count; i++) {
    const r = pop.roomsOf(i);
    const rooms = [...(r.huge ? [r.huge] : []), ...r.small, ...(r.dm ? [r.dm] : [])];
    const token = await new SignJWT({ role: "user" }).setProtectedHeader({ alg: "HS256" }).setIssuer("storm")
      .setSubject(Population.userName(i)).setIssuedAt().setExpirationTime(exp).sign(key);
    conns.push(new DayConn(sink, token, rooms));
    const open = (pred: (ch: string) => boolean) => rooms.flatMap((ch, k) => (pred(ch) && !sampled.has(ch) ? [k] : []));
    targets.push({ small: open((ch) => ch.startsWith("s")), dm: open((ch) => ch.startsWith("dm:")), huge: open((ch) => ch.startsWith("huge")) });
  }
  for (const p of c.ports) healthy.set(p, true);
}

/** Opens every connection over `rampMs`, at most MAX_IN_FLIGHT handshakes at once. */
async function ramp(): Promise<void> {
  const start = Date.now();
  for (let k = 0; k < conns.length; k++) {
    const due = start + (k * cfg.rampMs) / conns.length;
    while (Date.now() < due || inFlight >= MAX_IN_FLIGHT) await sleep(Math.max(1, Math.min(20, due - Date.now())));
    inFlight++;
    conns[k]!.connect();
  }
}

/** Publishes the rate's share due since the last tick: 70 % small rooms, 20 % DMs, 10 % huge rooms. */
function publishTick(state: { last: number; owed: number; n: number }): void {
  const now = Date.now();
  state.owed += (ratePerSec * (now - state.last)) / 1000;
  state.last = now;
  for (; state.owed >= 1; state.owed--) {
    for (let tries = 0; tries < 8; tries++) {
      const k = Math.floor(Math.random() * conns.length);
      const t = targets[k]!;
      const r = Math.random();
      const pool = r < 0.7 || (r < 0.9 && t.dm.length === 0) || (r >= 0.9 && t.huge.length === 0) ? t.small : r < 0.9 ? t.dm : t.huge;
      if (pool.length === 0) continue;
      if (conns[k]!.publish(pool[Math.floor(Math.random() * pool.length)]!, `w${cfg.index}-${state.n++}`)) {
        counts.pubs++;
        break;
      }
    }
  }
}

/** The load balancer's health check: a node that misses two probes in a row loses its connections. */
async function healthTick(): Promise<void> {
  await Promise.all(cfg.ports.map(async (port) => {
    let ok = false;
    try {
      ok = (await fetch(`http://127.0.0.1:${port}/livez`, { signal: AbortSignal.timeout(HEALTH_EVERY_MS) })).ok;
    } catch { /* down or paused */ }
    const miss = ok ? 0 : (misses.get(port) ?? 0) + 1;
    misses.set(port, miss);
    const was = healthy.get(port);
    healthy.set(port, miss < 2);
    if (was && miss >= 2) for (const c of conns) if (c.port === port && c.ws) c.drop(false, sink.backoffMs(1));
  }));
}

function churnTick(): void {
  for (const c of conns) if (c.ready && Math.random() < cfg.churnPerSec) c.drop(true, Math.random() * 2_000);
}

function sample(): DaySample {
  const out: DaySample = {
    ...counts, open: conns.reduce((n, c) => n + (c.ready ? 1 : 0), 0),
    ackHist: encodeIntoCompressedBase64(ackHist), deliverHist: encodeIntoCompressedBase64(deliverHist),
  };
  counts = zero();
  ackHist = newHist();
  deliverHist = newHist();
  return out;
}

async function handle(msg: { cmd: string; [k: string]: unknown }): Promise<unknown> {
  switch (msg.cmd) {
    case "init":
      await init(msg["cfg"] as DayWorkerInit);
      return {};
    case "connect": {
      void ramp();
      const pub = { last: Date.now(), owed: 0, n: 0 };
      let health = false;
      timers.push(setInterval(() => publishTick(pub), 50));
      timers.push(setInterval(() => {
        if (health) return;
        health = true;
        void healthTick().finally(() => (health = false));
      }, HEALTH_EVERY_MS));
      timers.push(setInterval(churnTick, 1_000));
      timers.push(setInterval(() => {
        const now = Date.now();
        for (const c of conns) c.expire(now, cfg.pubTimeoutMs);
      }, 1_000));
      return {};
    }
    case "sample":
      return { sample: sample() };
    case "rate":
      ratePerSec = msg["perSec"] as number;
      return {};
    case "reconnect": {
      const share = msg["share"] as number;
      let n = 0;
      for (const c of conns) if (c.ready && Math.random() < share && ++n) c.drop(false, Math.random() * 1_000);
      return { dropped: n };
    }
    case "stop":
      ratePerSec = 0;
      cfg.churnPerSec = 0;
      return {};
    case "exit":
      ipc.exiting = true;
      for (const t of timers) clearInterval(t);
      for (const c of conns) c.stop();
      setTimeout(() => process.exit(0), 50);
      return {};
    default:
      throw new Error(`Cannot run command "${msg.cmd}": unknown`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// The driver died: its own teardown (or the operator) stops the cluster; this process just ends.
const ipc = serveCommands(handle as (m: unknown) => Promise<unknown>, () => {});
