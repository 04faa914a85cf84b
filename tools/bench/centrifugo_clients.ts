// Lean client side of Centrifugo's protocols, for the fan-out load processes
// (bench/fanout_clients.ts dispatches here for the `centrifugo` target).
//  subscriber: WebSocket JSON protocol at /connection/websocket: `{"id":1,"connect":{"token":..}}`,
//              then one `{"id":n,"subscribe":{"channel":..}}` per channel, newline-joined in one
//              message; replies carry the command's id. Publications arrive as
//              `{"push":{"channel":..,"pub":{"data":"<body>"}}}`, several newline-joined in one
//              WebSocket message; a server ping is `{}`, answered with `{}`.
//  publisher:  the HTTP server API, as a backend publishes: `POST /api/batch` with `X-API-Key`,
//              `{"commands":[{"publish":{"channel":..,"data":"<body>"}},..]}`. One request in flight
//              per publisher process, carrying every publish due meanwhile: Centrifugo runs a batch's
//              commands in order, so per-channel order holds (concurrent `/api/publish` requests
//              would not keep it), and at thousands of publishes/s one request per publish would
//              make the HTTP round trips, not the fan-out, the measured cost.
import http from 'node:http';
import { SignJWT } from 'jose';
import { LeanWs } from './lean_ws.ts';
import { channelName, nowUs } from './fanout_common.ts';
import type { ConnOpts, PubConn, Sub } from './fanout_sub.ts';

/** Credentials the driver generated for the run's server (see baselines/centrifugo.ts). */
export interface CentrifugoAuth {
  tokenSecret: string;
  apiKey: string;
}

const DATA = Buffer.from('"data":"');

/**
 * Reads every publication of a WebSocket message from the bytes: each `"data":"` is followed by a
 * bench body `<publisher seq>,<send time>,<channel index>,...`. Returns the publications read.
 */
export function scanCentrifugoPushes(buf: Buffer, sub: Sub, now: number): number {
  let n = 0;
  let p = buf.indexOf(DATA);
  while (p >= 0) {
    p += DATA.length;
    let seq = 0;
    let ts = 0;
    let ch = 0;
    let c = 0;
    while (p < buf.length && (c = buf[p++]!) !== 44) seq = seq * 10 + (c - 48);
    while (p < buf.length && (c = buf[p++]!) !== 44) ts = ts * 10 + (c - 48);
    if (c !== 44) { sub.badFrames++; return n; }
    while (p < buf.length && (c = buf[p++]!) !== 44) ch = ch * 10 + (c - 48);
    if (c !== 44) { sub.badFrames++; return n; }
    sub.onSeq(ch, seq, ts, now);
    n++;
    p = buf.indexOf(DATA, p);
  }
  return n;
}

function connectionToken(secret: string, user: string): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setIssuedAt().setExpirationTime('2h')
    .sign(new TextEncoder().encode(secret));
}

/** Opens one subscriber and resolves once Centrifugo confirmed every subscribe. */
export async function connectCentrifugoSub(o: ConnOpts, sub: Sub, user: string, channels: number, auth: CentrifugoAuth): Promise<void> {
  const token = await connectionToken(auth.tokenSecret, user);
  return new Promise<void>((resolve, reject) => {
    let ready = false;
    const fail = (e: Error) => { if (!ready) { ready = true; reject(e); } };
    const ws = new LeanWs({ host: o.host, port: o.port, path: '/connection/websocket', localAddress: o.localAddress, handshakeTimeoutMs: 15_000 });
    sub.ws = ws;
    ws.on('error', (e) => { sub.errors++; fail(e as Error); });
    ws.on('close', () => { sub.closed = true; fail(new Error('closed before ready')); });
    ws.on('open', () => ws.send(JSON.stringify({ id: 1, connect: { token, name: 'storm-bench' } })));
    let subscribed = 0;
    ws.on('message', (d) => {
      const b = d as Buffer;
      const now = nowUs();
      sub.sink.onWire(b.length);
      if (b.length === 2 && b[0] === 123 && b[1] === 125) { ws.send('{}'); return; } // ping
      if (ready) { scanCentrifugoPushes(b, sub, now); return; }
      // Before every subscribe is confirmed: replies, read as JSON (a push cannot come before its subscribe reply).
      for (const text of b.toString().split('\n')) {
        if (!text) continue;
        let f: any;
        try { f = JSON.parse(text); } catch { sub.badFrames++; continue; }
        if (f.error) { sub.errors++; fail(new Error(`command ${f.id}: ${f.error.code} ${f.error.message}`)); return; }
        if (f.id === 1 && f.connect) {
          ws.send(sub.chans.map((c, k) => JSON.stringify({ id: k + 2, subscribe: { channel: channelName(c, channels) } })).join('\n'));
        } else if (f.id >= 2 && f.subscribe && ++subscribed === sub.chans.length) {
          ready = true;
          resolve();
        } else if (f.push) scanCentrifugoPushes(Buffer.from(text), sub, now);
      }
    });
  });
}

/** A publisher over the HTTP server API: `send` queues a publish; acks come with the batch's reply. */
export function connectCentrifugoPub(
  o: ConnOpts, channels: number, auth: CentrifugoAuth, onAck: (n: number, ch: number, seq: number) => void,
): Promise<PubConn> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let queued: string[] = [];
  let inFlight = false;
  let closed = false;
  const conn: PubConn = {
    errors: 0,
    send: (ch, body) => {
      queued.push(`{"publish":{"channel":"${channelName(ch, channels)}","data":"${body}"}}`);
      if (!inFlight) post();
    },
    close: () => { closed = true; agent.destroy(); },
  };
  const post = () => {
    if (closed || queued.length === 0) return;
    const batch = queued;
    queued = [];
    inFlight = true;
    const payload = `{"commands":[${batch.join(',')}]}`;
    const done = (errors: number) => {
      inFlight = false;
      conn.errors += errors;
      onAck(batch.length, -1, 0);
      // What was queued meanwhile goes at once: one request in flight keeps per-channel order.
      if (queued.length) post();
    };
    const req = http.request({
      host: o.host, port: o.port, path: '/api/batch', method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'x-api-key': auth.apiKey, 'content-length': Buffer.byteLength(payload) },
    }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) return done(batch.length);
        let errors = 0;
        try {
          const r = JSON.parse(Buffer.concat(parts).toString()) as { replies?: Array<{ error?: unknown }> };
          errors = (r.replies ?? []).filter((x) => x.error).length + Math.max(0, batch.length - (r.replies?.length ?? 0));
        } catch { errors = batch.length; }
        done(errors);
      });
    });
    req.on('error', () => { if (!closed) done(batch.length); });
    req.end(payload);
  };
  // Ready when the API answers with this key (an empty batch is a valid request).
  return new Promise<PubConn>((resolve, reject) => {
    const payload = '{"commands":[]}';
    const req = http.request({
      host: o.host, port: o.port, path: '/api/batch', method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'x-api-key': auth.apiKey, 'content-length': Buffer.byteLength(payload) },
    }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(conn) : reject(new Error(`centrifugo /api/batch: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(payload);
  });
}
