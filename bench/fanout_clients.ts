// Lean client side of each target's wire protocol, for the load processes.
//  raw   : bench/baselines/raw_ws_server.ts frames ('\n'-joined bodies), parsed from bytes.
//  sio   : Engine.IO v4 / Socket.IO v5 over a bare WebSocket (open '0', connect '40', ping '2'->'3',
//          event '42["m","<body>"]', ack '43<id>[]'). Protocol-compatible with socket.io-client but
//          without its per-packet overhead, so the load processes stay cheap.
//  storm : Storm JSON frames (object or array of objects), see the brief / DESIGN.md.
import { WebSocket } from 'ws';
import { CHANNEL, bodyTs, nowUs, type Proto } from './fanout_common.ts';

/** Per-subscriber ordering check plus the sink shared by all subscribers of a load process. */
export interface Sink {
  onMsg(latencyUs: number): void;
}

export class Sub {
  expected = 1; // next seq we expect (publisher seq for raw/sio, channel seq for storm)
  gaps = 0; // times a seq was skipped
  missing = 0; // seqs skipped in total
  reorders = 0; // seq lower than expected (duplicate or out of order)
  badFrames = 0;
  errors = 0;
  closed = false;
  ws: WebSocket | undefined;
  constructor(readonly sink: Sink) {}

  onSeq(seq: number, tsUs: number, now: number): void {
    if (seq !== this.expected) {
      if (seq > this.expected) {
        this.gaps++;
        this.missing += seq - this.expected;
      } else this.reorders++;
    }
    if (seq >= this.expected) this.expected = seq + 1;
    this.sink.onMsg(now - tsUs);
  }
}

export interface ConnOpts {
  host: string;
  port: number;
  localAddress?: string | undefined;
}

const WS_OPTS = { perMessageDeflate: false, skipUTF8Validation: true, handshakeTimeout: 15_000 };

function openWs(url: string, o: ConnOpts): WebSocket {
  return new WebSocket(url, { ...WS_OPTS, ...(o.localAddress ? { localAddress: o.localAddress } : {}) });
}

/** Parse '\n'-joined bodies `<seq>,<ts>,...` from `pos`; a body may end at '\n', '"' or the end. */
function parseBodies(buf: Buffer, pos: number, sub: Sub, now: number): void {
  const len = buf.length;
  while (pos < len) {
    let seq = 0;
    let ts = 0;
    let c = 0;
    while (pos < len && (c = buf[pos++]!) !== 44) seq = seq * 10 + (c - 48);
    while (pos < len && (c = buf[pos++]!) !== 44) ts = ts * 10 + (c - 48);
    if (c !== 44) {
      sub.badFrames++;
      return;
    }
    sub.onSeq(seq, ts, now);
    const nl = buf.indexOf(10, pos);
    if (nl < 0) return;
    pos = nl + 1;
  }
}

export async function postJson(
  o: ConnOpts, path: string, body: unknown, token?: string,
): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers['authorization'] = `Bearer ${token}`;
  const res = await fetch(`http://${o.host}:${o.port}${path}`, {
    method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let json: any = undefined;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: res.status, json };
}

export async function stormToken(o: ConnOpts, user: string): Promise<string> {
  const r = await postJson(o, '/auth/dev-token', { user });
  if (r.status !== 200 || typeof r.json?.token !== 'string') {
    throw new Error(`dev-token for ${user}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
  }
  return r.json.token;
}

function frames(data: Buffer): any[] {
  const v = JSON.parse(data.toString());
  return Array.isArray(v) ? v : [v];
}

/** Open one subscriber and resolve once it is subscribed (deliveries from then on are counted). */
export function connectSub(proto: Proto, o: ConnOpts, sub: Sub, user: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let ready = false;
    const fail = (e: Error) => { if (!ready) { ready = true; reject(e); } };
    const ok = () => { if (!ready) { ready = true; resolve(); } };
    const start = (url: string) => {
      const ws = openWs(url, o);
      sub.ws = ws;
      ws.on('error', (e) => { sub.errors++; fail(e); });
      ws.on('close', () => { sub.closed = true; fail(new Error('closed before ready')); });
      return ws;
    };
    if (proto === 'raw') {
      const ws = start(`ws://${o.host}:${o.port}/sub`);
      ws.on('open', ok);
      ws.on('message', (d) => parseBodies(d as Buffer, 0, sub, nowUs()));
    } else if (proto === 'sio') {
      const ws = start(`ws://${o.host}:${o.port}/socket.io/?EIO=4&transport=websocket`);
      ws.on('message', (d) => {
        const b = d as Buffer;
        const c0 = b[0];
        if (c0 === 52 /* 4 */) {
          if (b[1] === 50 /* 2 */) parseBodies(b, 8, sub, nowUs()); // 42["m","
          else if (b[1] === 48 /* 0 */) ok();
          else if (b[1] === 52 /* 4 connect_error */) fail(new Error(b.toString()));
        } else if (c0 === 50 /* ping */) ws.send('3');
        else if (c0 === 48 /* open */) ws.send('40');
      });
    } else {
      stormToken(o, user).then((token) => {
        const ws = start(`ws://${o.host}:${o.port}/ws?token=${encodeURIComponent(token)}`);
        ws.on('message', (d) => {
          let fs: any[];
          try { fs = frames(d as Buffer); } catch { sub.badFrames++; return; }
          const now = nowUs();
          for (const f of fs) {
            if (f?.t === 'msgs' && Array.isArray(f.m)) {
              for (const m of f.m) sub.onSeq(m.seq, bodyTs(m.body), now);
            } else if (f?.t === 'welcome') {
              ws.send(JSON.stringify([
                { t: 'join', id: 1, ch: CHANNEL },
                { t: 'sub', id: 2, ch: CHANNEL, after: 0 },
              ]));
            } else if (f?.t === 'subbed' && f.id === 2) ok();
            else if (f?.t === 'err') {
              sub.errors++;
              if (f.id === 2) fail(new Error(`sub: ${f.code} ${f.message}`));
            }
          }
        });
      }, fail);
    }
  });
}

/** Publisher connection. `onAck(n, seq)` frees n window slots; seq = Storm channel seq if known. */
export interface PubConn {
  send(pubSeq: number, body: string): void;
  close(): void;
  errors: number;
}

export function connectPub(
  proto: Proto, o: ConnOpts, runId: string, onAck: (n: number, seq: number) => void,
): Promise<PubConn> {
  return new Promise<PubConn>((resolve, reject) => {
    let ready = false;
    const conn: PubConn = { send: () => {}, close: () => ws?.terminate(), errors: 0 };
    let ws: WebSocket | undefined;
    const fail = (e: Error) => { if (!ready) { ready = true; reject(e); } };
    const ok = () => { if (!ready) { ready = true; resolve(conn); } };
    const start = (url: string) => {
      ws = openWs(url, o);
      ws.on('error', (e) => { conn.errors++; fail(e); });
      ws.on('close', () => fail(new Error('publisher closed before ready')));
      return ws;
    };
    if (proto === 'raw') {
      const w = start(`ws://${o.host}:${o.port}/pub`);
      conn.send = (_seq, body) => w.send(body);
      w.on('open', ok);
      w.on('message', (d) => onAck(Number(d.toString()), 0));
    } else if (proto === 'sio') {
      const w = start(`ws://${o.host}:${o.port}/socket.io/?EIO=4&transport=websocket&role=pub`);
      conn.send = (seq, body) => w.send(`42${seq}["pub","${body}"]`);
      w.on('message', (d) => {
        const b = d as Buffer;
        if (b[0] === 52 && b[1] === 51) onAck(1, 0); // 43<id>[]
        else if (b[0] === 52 && b[1] === 48) ok();
        else if (b[0] === 50) w.send('3');
        else if (b[0] === 48) w.send('40');
      });
    } else {
      (async () => {
        const token = await stormToken(o, 'bench-pub');
        const r = await postJson(o, '/channels', { name: CHANNEL, visibility: 'public' }, token);
        if (r.status !== 201 && r.status !== 409) {
          throw new Error(`create channel: HTTP ${r.status} ${JSON.stringify(r.json)}`);
        }
        const w = start(`ws://${o.host}:${o.port}/ws?token=${encodeURIComponent(token)}`);
        conn.send = (seq, body) => w.send(
          `{"t":"pub","id":${seq + 10},"ch":"${CHANNEL}","cid":"${runId}-${seq}","body":"${body}"}`);
        w.on('message', (d) => {
          let fs: any[];
          try { fs = frames(d as Buffer); } catch { conn.errors++; return; }
          for (const f of fs) {
            if (f?.t === 'ack') onAck(1, Number(f.seq));
            else if (f?.t === 'welcome') w.send(JSON.stringify({ t: 'join', id: 1, ch: CHANNEL }));
            else if (f?.t === 'ok' && f.id === 1) ok();
            else if (f?.t === 'err') {
              if (f.id === 1 && f.code !== 'already_member') fail(new Error(`join: ${f.code} ${f.message}`));
              else if (f.id === 1) ok();
              else { conn.errors++; onAck(1, 0); }
            }
          }
        });
      })().catch(fail);
    }
  });
}
