// Load process for the fan-out benchmarks (forked by bench/fanout_bench.ts, driven over IPC).
//  role 'sub': opens `count` subscriber connections from `localAddress` (at `ramp` per second),
//              each subscribed to its channels (see channelsOf), checks per-channel ordering,
//              counts deliveries and records publish-to-deliver latency (hdr histogram, µs) while
//              measuring. No per-message logging, one clock read per WebSocket message.
//  role 'pub': one publisher connection for the channels this process owns, round-robin over
//              them, at a fixed offered rate or as fast as a bounded ack window allows. In
//              fixed-rate mode each body carries its *intended* send time when the window held it
//              back, so a stalled server shows up as latency (no coordinated omission).
// Commands: init, start, measure, progress, stop-measure, stop, drain, exit. Each gets one reply {re: cmd}.
import { build, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { LatencyCounts } from './latency_counts.ts';
import { connectPub, connectSub } from './fanout_clients.ts';
import { Sub, type PubConn } from './fanout_sub.ts';
import { killGroups, serveCommands } from './load_ipc.ts';
import {
  channelsOf, makeBody, nowUs, sleep, type PubReport, type SubReport, type WorkerInit,
} from './fanout_common.ts';

const histogramOf = (counts: LatencyCounts): Histogram => {
  const h = newHist();
  counts.addTo(h);
  return h;
};
const newHist = (): Histogram =>
  build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });

let cfg: WorkerInit;
const subs: Sub[] = [];
let connectFailures = 0;
let firstConnectError = '';

// ---- subscriber side ----
let measuring = false;
let delivered = 0;
let deliveredTotal = 0;
let sampleCounter = 0;
let latencies = new LatencyCounts();
let measureStart = 0;
let wireMessages = 0;
let wireBytes = 0;
const sink = {
  onWire(bytes: number): void {
    if (!measuring) return;
    wireMessages++;
    wireBytes += bytes;
  },
  onMsg(lat: number): void {
    deliveredTotal++;
    if (!measuring) return;
    delivered++;
    if (++sampleCounter >= cfg.sample) {
      sampleCounter = 0;
      latencies.record(lat < 0 ? 0 : lat > 120_000_000 ? 120_000_000 : Math.round(lat));
    }
  },
};

async function openSubs(): Promise<void> {
  let next = 0;
  const t0 = Date.now();
  const deadline = t0 + 300_000;
  const lane = async () => {
    while (next < cfg.count && Date.now() < deadline) {
      const i = next++;
      if (cfg.ramp > 0) {
        const due = t0 + (i * 1000) / cfg.ramp;
        if (due > Date.now()) await sleep(due - Date.now());
      }
      const g = cfg.firstIndex + i;
      const o = { host: cfg.host, port: cfg.ports[g % cfg.ports.length]!, localAddress: cfg.localAddress };
      const sub = new Sub(sink, channelsOf(g, cfg.perConn, cfg.channels));
      try {
        await connectSub(cfg.proto, o, sub, `bench-sub-${g}`, cfg.channels, cfg.centrifugo);
        subs.push(sub);
      } catch (e) {
        connectFailures++;
        sub.ws?.terminate();
        if (!firstConnectError) firstConnectError = String((e as Error).message ?? e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(32, cfg.count) }, lane));
}

function subReport(): SubReport {
  const r: SubReport = {
    subs: cfg.count, connected: subs.length, closed: 0, delivered, elapsedUs: nowUs() - measureStart,
    gaps: 0, missing: 0, reorders: 0, badFrames: 0, errors: 0, hist: encodeIntoCompressedBase64(histogramOf(latencies)),
    wireMessages, wireBytes,
  };
  for (const s of subs) {
    if (s.closed) r.closed++;
    r.gaps += s.gaps;
    r.missing += s.missing;
    r.reorders += s.reorders;
    r.badFrames += s.badFrames;
    r.errors += s.errors;
  }
  return r;
}

/** Waits until every subscriber saw each of its channels up to `lastSeqs[ch]` (or the timeout). */
async function drain(lastSeqs: number[], timeoutMs: number): Promise<{ undelivered: number; lagging: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let undelivered = 0;
    let lagging = 0;
    for (const s of subs) {
      let behindHere = 0;
      for (let k = 0; k < s.chans.length; k++) {
        const behind = (lastSeqs[s.chans[k]!] ?? 0) - (s.exp[k]! - 1);
        if (behind > 0) behindHere += behind;
      }
      if (behindHere > 0) { undelivered += behindHere; lagging++; }
    }
    if (lagging === 0 || Date.now() >= deadline) return { undelivered, lagging };
    await sleep(50);
  }
}

// ---- publisher side ----
let pub: PubConn | undefined;
let myChans: number[] = [];
let rr = 0; // round-robin position in myChans
let pubSeqs: number[] = []; // per channel index: last publisher seq sent
let lastAckSeqs: number[] = []; // per channel index: highest Storm seq acked
let sent = 0;
let outstanding = 0;
let acked = 0;
let publishing = false;
let timer: NodeJS.Timeout | undefined;
let t0 = 0;
let win = { sent: 0, acked: 0, start: 0, stalls: 0 };
let windowStalls = 0; // timer ticks that found the window full with messages due

function sendOne(tsUs: number): void {
  const ch = myChans[rr]!;
  if (++rr === myChans.length) rr = 0;
  const seq = (pubSeqs[ch] = (pubSeqs[ch] ?? 0) + 1);
  sent++;
  outstanding++;
  pub!.send(ch, makeBody(seq, tsUs, ch, cfg.size));
}

function onAck(n: number, ch: number, seq: number): void {
  outstanding -= n;
  acked += n;
  if (ch >= 0 && seq > (lastAckSeqs[ch] ?? 0)) lastAckSeqs[ch] = seq;
  if (publishing && cfg.rate === 0) fillWindow();
}

function fillWindow(): void {
  while (outstanding < cfg.window) sendOne(nowUs());
}

let windowBlocked = false; // fixed rate fell behind because the ack window was full

function rateTick(): void {
  if (!publishing) return;
  const now = nowUs();
  const due = Math.floor(((now - t0) * cfg.rate) / 1e6);
  while (sent < due && outstanding < cfg.window) {
    // Normally stamp the real send time (the ~1 ms timer tick is the load generator's, not the
    // server's); while catching up after a full window, stamp the intended time instead, so time
    // the server made us wait counts as latency (no coordinated omission).
    sendOne(windowBlocked ? t0 + Math.round(((sent + 1) * 1e6) / cfg.rate) : now);
  }
  if (sent < due) {
    windowBlocked = true;
    windowStalls++;
  } else windowBlocked = false;
  timer = setTimeout(rateTick, 1);
}

function pubReport(): PubReport {
  return {
    sent: sent - win.sent, acked: acked - win.acked, errors: pub?.errors ?? 0,
    elapsedUs: nowUs() - win.start, windowStalls: windowStalls - win.stalls,
  };
}

// ---- command loop ----
async function handle(msg: any): Promise<unknown> {
  switch (msg.cmd) {
    case 'init': {
      cfg = msg.cfg as WorkerInit;
      if (cfg.role === 'sub') {
        await openSubs();
        return { connected: subs.length, failures: connectFailures, error: firstConnectError };
      }
      for (let c = cfg.pubIndex; c < cfg.channels; c += cfg.pubProcs) myChans.push(c);
      pub = await connectPub(cfg.proto, { host: cfg.host, port: cfg.ports[0]!, localAddress: cfg.localAddress },
        cfg.runId, myChans, cfg.channels, onAck, cfg.centrifugo);
      return { connected: 1 };
    }
    case 'start':
      publishing = true;
      t0 = nowUs();
      if (cfg.rate > 0) rateTick();
      else fillWindow();
      return {};
    case 'measure':
      measuring = true;
      delivered = 0;
      wireMessages = 0;
      wireBytes = 0;
      sampleCounter = 0;
      latencies = new LatencyCounts();
      measureStart = nowUs();
      win = { sent, acked, start: nowUs(), stalls: windowStalls };
      return {};
    case 'progress': {
      let closed = 0;
      let errors = pub?.errors ?? 0;
      for (const s of subs) { if (s.closed) closed++; errors += s.errors; }
      return { connected: cfg.role === 'sub' ? subs.length : pub ? 1 : 0, failures: connectFailures, delivered: deliveredTotal, sent, acked, closed, errors };
    }
    case 'stop-measure':
      measuring = false;
      return cfg.role === 'sub' ? subReport() : pubReport();
    case 'stop': {
      publishing = false;
      if (timer) clearTimeout(timer);
      const deadline = Date.now() + 3000;
      while (outstanding > 0 && Date.now() < deadline) await sleep(20);
      // what every subscriber must eventually see, per channel: Storm channel seqs, or publisher seqs
      const lastSeqs = cfg.proto.startsWith('storm') ? lastAckSeqs : pubSeqs;
      return { lastSeqs: Array.from({ length: cfg.channels }, (_, c) => lastSeqs[c] ?? 0), sent, acked, outstanding };
    }
    case 'drain':
      return drain(msg.lastSeqs, msg.timeoutMs);
    case 'exit':
      ipc.exiting = true;
      for (const s of subs) s.ws?.terminate();
      pub?.close();
      setTimeout(() => process.exit(0), 50);
      return {};
    default:
      throw new Error(`unknown command ${msg.cmd}`);
  }
}

const ipc = serveCommands(handle, () => { if (cfg?.guardPgid) killGroups([cfg.guardPgid]); });
