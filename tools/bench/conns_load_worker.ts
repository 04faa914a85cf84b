// Load process for the connections benchmark (forked by bench/conns_bench.ts, driven over IPC).
// Opens `count` WebSocket connections from one source address, spread over the server processes,
// waits for each to be ready (Storm: the `welcome` frame after authentication; raw: the open
// handshake; Socket.IO: the namespace connect ack; Centrifugo: the reply to its `connect` command),
// then just holds them. `ws` answers the server's pings by itself; Socket.IO's application-level
// ping ('2') is answered here ('3'), and Centrifugo's (`{}`) with `{}`.
// Commands: init, connect, progress, report, exit. Each gets one reply {re: cmd}.
import { build, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';
import type { ConnsProgress, ConnsWorkerInit, ConnsWorkerReport } from './conns_common.ts';
import { killGroups, serveCommands } from './load_ipc.ts';
import { SourcePorts } from './source_ports.ts';

let cfg: ConnsWorkerInit;
let tokens: string[] = [];
const sockets: WebSocket[] = [];
const hist = build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
const errors: Record<string, number> = {};
const samples: Record<string, string> = {};
let attempted = 0;
let connected = 0;
let failed = 0;
let closed = 0;
let done = false;
let firstAttempt = 0n;
let lastReady = 0n;

const WS_OPTS = { perMessageDeflate: false, skipUTF8Validation: true, handshakeTimeout: 30_000 };

function count(kind: string, message: string): void {
  errors[kind] = (errors[kind] ?? 0) + 1;
  if (!(kind in samples)) samples[kind] = message.slice(0, 300);
}

/** A short, stable name for a failure: the errno when there is one, else the HTTP status. */
function kindOf(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err?.code) return `connect:${err.code}`;
  const http = /Unexpected server response: (\d+)/.exec(String(err?.message));
  if (http) return `http:${http[1]}`;
  if (/timed out/i.test(String(err?.message))) return 'timeout';
  return 'connect:other';
}

function url(k: number): string {
  const port = cfg.ports[(cfg.firstIndex + k) % cfg.ports.length];
  switch (cfg.target) {
    case 'storm': return `ws://127.0.0.1:${port}/ws?token=${tokens[k]}`;
    case 'socketio': return `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`;
    case 'raw': return `ws://127.0.0.1:${port}/sub`;
    case 'centrifugo': return `ws://127.0.0.1:${port}/connection/websocket`;
  }
}

const ports = new SourcePorts();

/** Opens connection k; resolves when it is ready or has failed (never rejects). */
async function open(k: number): Promise<void> {
  if ((await ports.withPort((p) => openFrom(k, p))) !== 'no-free-port') return;
  failed++;
  count('connect:no-free-port', 'no free source port after 50 attempts');
}

function openFrom(k: number, localPort: number): Promise<'done' | 'port-taken'> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const ws = new WebSocket(url(k), { ...WS_OPTS, localAddress: cfg.localAddress, localPort });
    let ready = false;
    let settled = false;
    const timer = setTimeout(() => fail('timeout', `not ready after ${cfg.readyTimeoutMs} ms`), cfg.readyTimeoutMs);
    function fail(kind: string, message: string): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.terminate();
      if (kind === 'connect:EADDRINUSE') return resolve('port-taken');
      failed++;
      count(kind, message);
      resolve('done');
    }
    const ok = () => {
      if (settled) return;
      settled = true;
      ready = true;
      clearTimeout(timer);
      const now = process.hrtime.bigint();
      lastReady = now;
      hist.recordValue(Math.max(1, Math.min(600_000_000, Number((now - t0) / 1000n))));
      connected++;
      sockets.push(ws);
      resolve('done');
    };
    ws.on('error', (e) => (ready ? count('socket-error', String(e.message)) : fail(kindOf(e), String(e.message))));
    ws.on('close', (code, reason) => {
      if (!ready) return fail(`closed-before-ready:${code}`, reason.toString());
      closed++;
      count(`closed:${code}`, reason.toString());
    });
    if (cfg.target === 'raw') ws.on('open', ok);
    else if (cfg.target === 'storm') {
      ws.on('message', (d: Buffer) => {
        if (ready) return;
        const text = d.toString();
        if (text.includes('"t":"welcome"')) return ok();
        const code = /"code":"([a-z_]+)"/.exec(text)?.[1];
        fail(code ? `err:${code}` : 'unexpected-frame', text);
      });
    } else if (cfg.target === 'centrifugo') {
      ws.on('open', () => ws.send(JSON.stringify({ id: 1, connect: { token: tokens[k], name: 'storm-bench' } })));
      ws.on('message', (d: Buffer) => {
        if (d.length === 2 && d[0] === 123 && d[1] === 125) return ws.send('{}'); // ping
        if (ready) return;
        const text = d.toString();
        if (text.startsWith('{"id":1,"connect"')) return ok();
        const code = /"code":(\d+)/.exec(text)?.[1];
        fail(code ? `err:${code}` : 'unexpected-frame', text);
      });
    } else {
      // Engine.IO v4 / Socket.IO v5: '0{...}' open -> send '40' -> '40{"sid":..}' connected; '2' ping -> '3'.
      ws.on('message', (d: Buffer) => {
        const c0 = d[0];
        if (c0 === 50 /* 2: ping */) ws.send('3');
        else if (c0 === 48 /* 0: open */) ws.send('40');
        else if (c0 === 52 && d[1] === 48 /* 40: connected */) ok();
        else if (c0 === 52 && d[1] === 52 /* 44: connect_error */) fail('err:connect_error', d.toString());
      });
    }
  });
}

async function connectAll(): Promise<void> {
  firstAttempt = process.hrtime.bigint();
  const start = Date.now();
  let inflight = 0;
  let wake: (() => void) | undefined;
  const finished: Promise<void>[] = [];
  for (let k = 0; k < cfg.count; k++) {
    while (inflight >= cfg.concurrency) await new Promise<void>((r) => (wake = r));
    if (cfg.rate > 0) {
      const due = start + (k * 1000) / cfg.rate;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
    inflight++;
    attempted++;
    finished.push(open(k).then(() => {
      inflight--;
      const w = wake;
      wake = undefined;
      w?.();
    }));
  }
  await Promise.all(finished);
  done = true;
}

async function signTokens(): Promise<void> {
  const key = new TextEncoder().encode(cfg.jwtSecret);
  const exp = Math.floor(Date.now() / 1000) + 24 * 3600;
  tokens = [];
  for (let k = 0; k < cfg.count; k++) {
    const jwt = cfg.target === 'storm' ? new SignJWT({ role: 'user' }).setIssuer('storm') : new SignJWT({});
    tokens.push(await jwt.setProtectedHeader({ alg: 'HS256' }).setSubject(`c${cfg.firstIndex + k}`).setIssuedAt().setExpirationTime(exp).sign(key));
  }
}

function progress(): ConnsProgress {
  return { attempted, connected, failed, closed, done };
}

async function handle(msg: any): Promise<unknown> {
  switch (msg.cmd) {
    case 'init':
      cfg = msg.cfg as ConnsWorkerInit;
      if (cfg.target === 'storm' || cfg.target === 'centrifugo') await signTokens();
      return {};
    case 'connect':
      void connectAll();
      return {};
    case 'progress':
      return progress();
    case 'report': {
      let openNow = 0;
      for (const ws of sockets) if (ws.readyState === WebSocket.OPEN) openNow++;
      const r: ConnsWorkerReport = {
        ...progress(), open: openNow, errors, samples, portsSkipped: ports.skipped, hist: encodeIntoCompressedBase64(hist),
        connectUs: lastReady > 0n ? Number((lastReady - firstAttempt) / 1000n) : 0, rssBytes: process.memoryUsage().rss,
      };
      return r;
    }
    case 'exit':
      ipc.exiting = true;
      for (const ws of sockets) ws.terminate();
      setTimeout(() => process.exit(0), 50);
      return {};
    default:
      throw new Error(`unknown command ${msg.cmd}`);
  }
}

// The driver died: take the servers with it.
const ipc = serveCommands(handle, () => killGroups(cfg?.guardPgids ?? []));
