// Load process of the durable-publish benchmark (forked by bench/durable_bench.ts, driven over IPC).
//  role 'pub'  : Storm publishers. Each connection publishes to its channels round-robin, with at
//                most `window` publishes awaiting an ack, `pub` frames batched in arrays of up to
//                `batch`. Closed loop (rate 0: every ack frees a slot that is refilled at once) or
//                open loop at a fixed rate (latency counted from the intended send time, so a stalled
//                server shows as latency). Latency = ack received - publish sent, per publish.
//  role 'rawpg': the baseline. `conns` pg connections, each running multi-row INSERTs of the same
//                rows into the same journal table, one statement (its own transaction) at a time.
// Commands: init, start, measure, stop-measure, stop, exit. Each gets one reply {re: cmd}.
import { build, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import pg from 'pg';
import { makeBody, type LoadInit, type LoadReport, type PubInit, type RawPgInit, type StopReport } from './durable_common.ts';
import { scanAcks } from './ack_scanner.ts';
import { LeanWs } from './lean_ws.ts';
import { killGroups, serveCommands } from './load_ipc.ts';

const MAX_US = 120_000_000;
const newHist = (): Histogram =>
  build({ lowestDiscernibleValue: 1, highestTrackableValue: MAX_US, numberOfSignificantValueDigits: 3 });
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let cfg: LoadInit;
let running = false;
let measuring = false;
let hist = newHist();
const total = { sent: 0, acked: 0, txns: 0, errors: 0, dups: 0 };
let mark = { ...total, start: 0 };
let firstError = '';

function record(latUs: number): void {
  if (measuring) hist.recordValue(latUs < 0 ? 0 : latUs > MAX_US ? MAX_US : latUs);
}

function fail(e: unknown): void {
  total.errors++;
  if (!firstError) firstError = String((e as Error)?.message ?? e).slice(0, 300);
}

// ---- Storm publishers ----

/** (request id, channel index, seq) of the acks of the message being scanned. */
const scanned: number[] = [];

class Publisher {
  ws!: LeanWs;
  /** request id → send time (µs) of each publish awaiting its ack. */
  readonly inflight = new Map<number, number>();
  nextId = 1;
  nextChannel = 0;
  /** Open loop: publishes due but not sent because the window was full, with their due times. */
  readonly backlog: number[] = [];
  readonly body: string;
  /** This connection's channel names as bytes, to read acks without decoding them. */
  readonly channelBytes: Buffer[];

  constructor(readonly spec: PubInit['conns'][number], readonly index: number, readonly o: PubInit) {
    this.body = makeBody(index, o.size);
    this.channelBytes = spec.channels.map((c) => Buffer.from(c));
  }

  async open(): Promise<void> {
    const base = `http://${this.o.host}:${this.o.port}`;
    const res = await fetch(`${base}/auth/dev-token`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: this.spec.user }),
      signal: AbortSignal.timeout(15_000),
    });
    const { token } = (await res.json()) as { token: string };
    if (!token) throw new Error(`dev-token for ${this.spec.user}: HTTP ${res.status}`);
    await new Promise<void>((resolve, reject) => {
      const ws = new LeanWs({
        host: this.o.host, port: this.o.port, path: `/ws?token=${encodeURIComponent(token)}`,
        localAddress: this.o.localAddress, handshakeTimeoutMs: 15_000,
      });
      this.ws = ws;
      ws.once('error', reject);
      ws.once('close', () => reject(new Error('closed before welcome')));
      let welcomed = false;
      ws.on('message', (d) => {
        if (welcomed) this.onMessage(d as Buffer);
        else if (String(d).includes('"welcome"')) {
          welcomed = true;
          resolve();
        }
      });
    });
    this.ws.removeAllListeners('error').removeAllListeners('close');
    this.ws.on('error', fail);
    this.ws.on('close', () => { if (running) fail(new Error(`${this.spec.user}: connection closed`)); });
  }

  onMessage(data: Buffer): void {
    const now = nowUs();
    const n = scanAcks(data, this.channelBytes, scanned);
    if (n < 0) this.parseFrames(data, now);
    for (let i = 0; i < n; i += 3) this.acked(scanned[i]!, scanned[i + 1]!, scanned[i + 2]!, false, now);
    if (running) this.pump(now);
  }

  /** Any message but a run of plain acks (an error, a duplicate's ack, escaped text): JSON.parse. */
  parseFrames(data: Buffer, now: number): void {
    let frames: any;
    try { frames = JSON.parse(data.toString()); } catch (e) { fail(e); return; }
    if (!Array.isArray(frames)) frames = [frames];
    for (const f of frames) {
      if (f.t === 'ack') this.acked(f.id, this.spec.channels.indexOf(f.ch), f.seq, f.dup === true, now);
      else if (this.inflight.delete(f.id)) fail(new Error(`pub: ${f.code} ${f.message}`));
    }
  }

  acked(id: number, ch: number, seq: number, dup: boolean, now: number): void {
    const sent = this.inflight.get(id);
    if (sent === undefined || ch < 0) return;
    this.inflight.delete(id);
    total.acked++;
    if (dup) total.dups++;
    const name = this.spec.channels[ch]!;
    const a = ackedByChannel.get(name);
    if (a === undefined) ackedByChannel.set(name, [1, seq]);
    else {
      a[0]++;
      if (seq > a[1]) a[1] = seq;
    }
    record(now - sent);
  }

  /** Sends what the window allows: everything due (open loop) or a full window (closed loop). */
  pump(now: number): void {
    const free = this.o.window - this.inflight.size;
    if (free <= 0) return;
    const n = this.o.rate > 0 ? Math.min(free, this.backlog.length) : free;
    if (n === 0) return;
    let parts: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = this.nextId++;
      const ch = this.spec.channels[this.nextChannel++ % this.spec.channels.length];
      this.inflight.set(id, this.o.rate > 0 ? this.backlog.shift()! : now);
      parts.push(`{"t":"pub","id":${id},"ch":"${ch}","cid":"${this.o.runId}-${this.index}-${id}","body":"${this.body}"}`);
      if (parts.length === this.o.batch) {
        this.ws.send(`[${parts.join(',')}]`);
        parts = [];
      }
    }
    if (parts.length > 0) this.ws.send(`[${parts.join(',')}]`);
    total.sent += n;
  }
}

const publishers: Publisher[] = [];
const ackedByChannel = new Map<string, [number, number]>();
let rateTimer: NodeJS.Timeout | undefined;

async function openPublishers(o: PubInit): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < o.conns.length) {
      const i = next++;
      const p = new Publisher(o.conns[i]!, i, o);
      await p.open();
      publishers.push(p);
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, o.conns.length) }, lane));
}

/** Open loop: every ms, the publishes that became due are queued on their connection and sent. */
function startRate(o: PubInit): void {
  const t0 = nowUs();
  let due = 0;
  let rr = 0;
  const tick = () => {
    if (!running) return;
    const now = nowUs();
    const target = Math.floor(((now - t0) * o.rate) / 1e6);
    for (; due < target; due++) {
      publishers[rr++ % publishers.length]!.backlog.push(t0 + Math.round((due * 1e6) / o.rate));
    }
    for (const p of publishers) p.pump(now);
    rateTimer = setTimeout(tick, 1);
  };
  tick();
}

// ---- raw pg baseline ----

const clients: pg.Client[] = [];

async function openRaw(o: RawPgInit): Promise<void> {
  for (let i = 0; i < o.conns; i++) {
    const c = new pg.Client({ connectionString: o.url });
    c.on('error', fail);
    await c.connect();
    clients.push(c);
  }
}

async function rawLoop(o: RawPgInit, c: pg.Client, lane: number): Promise<void> {
  const placeholders = Array.from({ length: o.rows }, (_, r) =>
    `(${Array.from({ length: 7 }, (_, k) => `$${r * 7 + k + 1}`).join(',')})`).join(',');
  const text = `INSERT INTO journal (actor_id, seq, client_id, sender, body, ts, epoch) VALUES ${placeholders}`;
  const seqs = new Array<number>(o.actors).fill(0);
  const body = makeBody(lane, o.size);
  let n = 0;
  while (running) {
    const values: unknown[] = [];
    const ts = Date.now();
    for (let r = 0; r < o.rows; r++) {
      const a = n++ % o.actors;
      values.push(`${o.prefix}-${lane}-${a}`, ++seqs[a]!, `${o.prefix}-${lane}-${n}`, 'raw', body, ts, 1);
    }
    const t = nowUs();
    try {
      await c.query({ name: 'raw_insert', text, values });
      total.acked += o.rows;
      total.txns++;
      record(nowUs() - t);
    } catch (e) {
      fail(e);
      await sleep(10);
    }
    total.sent += o.rows;
  }
}

// ---- command loop ----

async function handle(msg: any): Promise<unknown> {
  switch (msg.cmd) {
    case 'init':
      cfg = msg.cfg as LoadInit;
      if (cfg.role === 'pub') await openPublishers(cfg);
      else await openRaw(cfg);
      return {};
    case 'start': {
      running = true;
      const c = cfg;
      if (c.role === 'rawpg') clients.forEach((cl, i) => void rawLoop(c, cl, i));
      else if (c.rate > 0) startRate(c);
      else for (const p of publishers) p.pump(nowUs());
      return {};
    }
    case 'measure':
      measuring = true;
      hist = newHist();
      mark = { ...total, start: nowUs() };
      return {};
    case 'stop-measure': {
      measuring = false;
      const r: LoadReport = {
        sent: total.sent - mark.sent, acked: total.acked - mark.acked, txns: total.txns - mark.txns,
        errors: total.errors - mark.errors, dups: total.dups - mark.dups, elapsedUs: nowUs() - mark.start,
        hist: encodeIntoCompressedBase64(hist), firstError,
      };
      return r;
    }
    case 'stop': {
      running = false;
      if (rateTimer) clearTimeout(rateTimer);
      const deadline = Date.now() + 5000;
      const outstanding = () => publishers.reduce((a, p) => a + p.inflight.size, 0);
      while (outstanding() > 0 && Date.now() < deadline) await sleep(20);
      const r: StopReport = { outstanding: outstanding(), acked: Object.fromEntries(ackedByChannel) };
      return r;
    }
    case 'exit':
      ipc.exiting = true;
      running = false;
      for (const p of publishers) p.ws?.terminate();
      await Promise.all(clients.map((c) => c.end().catch(() => {})));
      setTimeout(() => process.exit(0), 20);
      return {};
    default:
      throw new Error(`unknown command ${msg.cmd}`);
  }
}

// The driver vanished: take the server down with us (the publisher process guards it).
const ipc = serveCommands(handle, () => { if (cfg?.role === 'pub') killGroups([cfg.guardPgid]); });
