// Lean client side of each target's wire protocol, for the load processes.
//  raw   : bench/baselines/raw_ws_server.ts: subscribe with `/sub?ch=1,2`, publish `<ch> <body>`;
//          deliveries are '\n'-joined bodies, parsed from bytes.
//  sio   : Engine.IO v4 / Socket.IO v5 over a bare WebSocket (open '0', connect '40', ping '2'->'3',
//          event '42["m","<body>"]', ack '43<id>[]'). Protocol-compatible with socket.io-client but
//          without its per-packet overhead, so the load processes stay cheap.
//  cent  : Centrifugo's WebSocket JSON protocol and HTTP server API (bench/centrifugo_clients.ts).
//  storm : Storm JSON frames (object or array of objects), see docs/PROTOCOL.md.
// Every body carries its channel index, its per-channel publisher seq and its send time (see
// makeBody), so each subscriber checks order and gaps per channel for every target alike.
import { eachFrame, startsAt } from './byte_scan.ts';
import { connectCentrifugoPub, connectCentrifugoSub, type CentrifugoAuth } from './centrifugo_clients.ts';
import { LeanWs } from './lean_ws.ts';
import { bodyTs, channelIndex, channelName, nowUs, type Proto } from './fanout_common.ts';
import type { ConnOpts, PubConn, Sub } from './fanout_sub.ts';

/** Opens `path` (with its query) on the target; see bench/lean_ws.ts for why not `ws`. */
function openWs(path: string, o: ConnOpts): LeanWs {
  return new LeanWs({ host: o.host, port: o.port, path, localAddress: o.localAddress, handshakeTimeoutMs: 15_000 });
}

/** Parse '\n'-joined bodies `<seq>,<ts>,<ch>,...` from `pos`; a body may end at '\n', '"' or the end. */
export function parseBodies(buf: Buffer, pos: number, sub: Sub, now: number): void {
  const len = buf.length;
  while (pos < len) {
    let seq = 0;
    let ts = 0;
    let ch = 0;
    let c = 0;
    while (pos < len && (c = buf[pos++]!) !== 44) seq = seq * 10 + (c - 48);
    while (pos < len && (c = buf[pos++]!) !== 44) ts = ts * 10 + (c - 48);
    if (c !== 44) {
      sub.badFrames++;
      return;
    }
    while (pos < len && (c = buf[pos++]!) !== 44) ch = ch * 10 + (c - 48);
    if (c !== 44) {
      sub.badFrames++;
      return;
    }
    sub.onSeq(ch, seq, ts, now);
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

const MSGS = Buffer.from('{"t":"msgs","ch":"');
const M_OPEN = Buffer.from(',"m":[');
const SEQ = Buffer.from('{"seq":');
const BODY = Buffer.from('"body":"');
/** (channel, seq, send time) triples of the message being scanned; delivered only once all of it is read. */
const found: number[] = [];

/** Entries of `found` filled by the frame being scanned. */
let nFound = 0;

/**
 * Scans a frame's messages from `p`, just past the closing quote of its channel name, into `found`;
 * returns the position of the `]` that closes them, or -1 when the bytes are not what it expects.
 */
type RowsScanner = (buf: Buffer, p: number, ch: number) => number;

/**
 * Reads the deliveries of Storm `msgs` frames straight from the bytes (like the raw and Socket.IO
 * clients do), without JSON.parse: on 2 shared cores, parsing every delivery as JSON made the load
 * processes, not the server, the limit. One forward pass, with a native search only for single
 * bytes (memchr): searching multi-byte needles with Buffer#indexOf cost more than everything else
 * in the load process together. Relies on the server's key order (`{"t":"msgs","ch":..,<rows>}`,
 * one such frame or a `[..]` array of them) and on bench strings holding no quotes. Returns false,
 * having delivered nothing, for a WebSocket message that is anything else (a reply, an error, an
 * escaped quote, the other encoding): the caller parses that one as JSON.
 */
function scanFrames(buf: Buffer, sub: Sub, now: number, rows: RowsScanner): boolean {
  nFound = 0;
  if (!eachFrame(buf, rows, msgsFrame)) return false;
  for (let i = 0; i < nFound; i += 3) sub.onSeq(found[i]!, found[i + 1]!, found[i + 2]!, now);
  return true;
}

/** One `{"t":"msgs","ch":..,<rows>}` frame from `p`, its rows read by `rows`: the position past it, or -1. */
function msgsFrame(buf: Buffer, p: number, rows: RowsScanner): number {
  if (!startsAt(buf, p, MSGS)) return -1;
  p += MSGS.length;
  const q = buf.indexOf(34, p); // closing quote of the channel name
  if (q < 0) return -1;
  p = rows(buf, q + 1, channelIndex(buf.toString('latin1', p, q)));
  if (p < 0 || buf[p] !== 93 || buf[p + 1] !== 125) return -1; // ]}
  return p + 2;
}

/** Records one delivery; `bodyStart` is the body's first byte (`<publisher seq>,<send time>,...`). */
function foundAt(buf: Buffer, bodyStart: number, bodyEnd: number, ch: number, seq: number): void {
  let p = bodyStart;
  while (p < bodyEnd && buf[p] !== 44) p++; // skip the publisher seq
  let ts = 0;
  let c = 0;
  while (++p < bodyEnd && (c = buf[p]!) >= 48 && c <= 57) ts = ts * 10 + (c - 48);
  found[nFound++] = ch;
  found[nFound++] = seq;
  found[nFound++] = ts;
}

/**
 * Default frames: `,"m":[{"seq":..,"ts":..,"from":"..","cid":"..","body":".."},..]`. A row ends at
 * its first `}` and its body is the last string before it (bench strings hold no `}` and no quote):
 * two native searches per row, where counting the quotes up to the body byte by byte cost three
 * times as much per delivery. A row that is not so is left to JSON.parse.
 */
const objectRows: RowsScanner = (buf, p, ch) => {
  if (!startsAt(buf, p, M_OPEN)) return -1;
  p += M_OPEN.length;
  if (buf[p] === 93) return p;
  for (;;) {
    if (!startsAt(buf, p, SEQ)) return -1;
    p += SEQ.length;
    let seq = 0;
    let c = 0;
    while ((c = buf[p]!) >= 48 && c <= 57) { seq = seq * 10 + (c - 48); p++; }
    const end = buf.indexOf(125, p); // the } closing the row
    const e = end - 1; // closing quote of the body
    if (end < 0 || buf[e] !== 34 || buf[e - 1] === 92) return -1;
    const q = buf.lastIndexOf(34, e - 1); // opening quote of the body
    if (q <= p || !startsAt(buf, q + 1 - BODY.length, BODY)) return -1;
    foundAt(buf, q + 1, e, ch, seq);
    p = end + 1;
    if (buf[p] !== 44) return p;
    p++;
  }
};

const SEQ_FIELD = Buffer.from(',"seq":');
const ROWS_OPEN = Buffer.from(',"m":[');

/**
 * Compact frames (`?enc=compact`): `,"seq":S,"m":[[ts,"from","body"],[dts,"body"],..]`; row i has
 * seq S + i, and a two-element row has the previous row's sender.
 */
const compactRows: RowsScanner = (buf, p, ch) => {
  const len = buf.length;
  if (!startsAt(buf, p, SEQ_FIELD)) return -1;
  p += SEQ_FIELD.length;
  let seq = 0;
  let c = 0;
  while ((c = buf[p]!) >= 48 && c <= 57) { seq = seq * 10 + (c - 48); p++; }
  if (!startsAt(buf, p, ROWS_OPEN)) return -1;
  p += ROWS_OPEN.length;
  if (buf[p] === 93) return p;
  for (;;) {
    if (buf[p++] !== 91) return -1; // [
    while (p < len && buf[p] !== 44) p++; // the time (or its delta)
    if (buf[p + 1] !== 34) return -1;
    let e = buf.indexOf(34, p + 2); // closing quote of the sender, or of the body
    if (e < 0 || buf[e - 1] === 92) return -1;
    let b = p + 2; // first byte of the body
    if (buf[e + 1] === 44) {
      if (buf[e + 2] !== 34) return -1;
      b = e + 3;
      e = buf.indexOf(34, b);
      if (e < 0 || buf[e - 1] === 92) return -1;
    }
    foundAt(buf, b, e, ch, seq++);
    p = e + 1;
    if (buf[p++] !== 93) return -1; // ]
    if (buf[p] !== 44) return p;
    p++;
  }
};

export function scanStormMsgs(buf: Buffer, sub: Sub, now: number): boolean {
  return scanFrames(buf, sub, now, objectRows);
}

export function scanStormCompact(buf: Buffer, sub: Sub, now: number): boolean {
  return scanFrames(buf, sub, now, compactRows);
}

function frames(data: Buffer): any[] {
  const v = JSON.parse(data.toString());
  return Array.isArray(v) ? v : [v];
}

/** Open one subscriber and resolve once it is subscribed to all its channels. */
export function connectSub(proto: Proto, o: ConnOpts, sub: Sub, user: string, channels: number, cent?: CentrifugoAuth): Promise<void> {
  if (proto === 'cent') return connectCentrifugoSub(o, sub, user, channels, cent!);
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
    const chq = sub.chans.join(',');
    if (proto === 'raw') {
      const ws = start(`/sub?ch=${chq}`);
      ws.on('open', ok);
      ws.on('message', (d) => { sub.sink.onWire((d as Buffer).length); parseBodies(d as Buffer, 0, sub, nowUs()); });
    } else if (proto === 'sio') {
      const ws = start(`/socket.io/?EIO=4&transport=websocket&ch=${chq}`);
      ws.on('message', (d) => {
        const b = d as Buffer;
        sub.sink.onWire(b.length);
        const c0 = b[0];
        if (c0 === 52 /* 4 */) {
          if (b[1] === 50 /* 2 */) parseBodies(b, 8, sub, nowUs()); // 42["m","
          else if (b[1] === 48 /* 0 */) ok(); // joined its rooms before the connect ack
          else if (b[1] === 52 /* 4 connect_error */) fail(new Error(b.toString()));
        } else if (c0 === 50 /* ping */) ws.send('3');
        else if (c0 === 48 /* open */) ws.send('40');
      });
    } else {
      const compact = proto === 'storm-compact';
      const scan = compact ? scanStormCompact : scanStormMsgs;
      stormToken(o, user).then((token) => {
        const ws = start(`/ws?token=${encodeURIComponent(token)}${compact ? '&enc=compact' : ''}`);
        let subbed = 0;
        ws.on('message', (d) => {
          const now = nowUs();
          sub.sink.onWire((d as Buffer).length);
          if (scan(d as Buffer, sub, now)) return;
          let fs: any[];
          try { fs = frames(d as Buffer); } catch { sub.badFrames++; return; }
          for (const f of fs) {
            if (f?.t === 'msgs' && Array.isArray(f.m)) {
              const ch = channelIndex(f.ch);
              if (typeof f.seq === 'number') f.m.forEach((r: string[], i: number) => sub.onSeq(ch, f.seq + i, bodyTs(r[r.length - 1]!), now));
              else for (const m of f.m) sub.onSeq(ch, m.seq, bodyTs(m.body), now);
            } else if (f?.t === 'welcome') {
              // join (odd ids) then subscribe from the start (even ids), all in one message
              ws.send(JSON.stringify(sub.chans.flatMap((c, k) => [
                { t: 'join', id: 2 * k + 1, ch: channelName(c, channels) },
                { t: 'sub', id: 2 * k + 2, ch: channelName(c, channels), after: 0 },
              ])));
            } else if (f?.t === 'subbed') {
              if (++subbed === sub.chans.length) ok();
            } else if (f?.t === 'err') {
              if (f.id % 2 === 1 && f.code === 'already_member') continue;
              sub.errors++;
              fail(new Error(`${f.id % 2 === 1 ? 'join' : 'sub'}: ${f.code} ${f.message}`));
            }
          }
        });
      }, fail);
    }
  });
}


/**
 * Opens a publisher for `chans` (creating and joining them on Storm). `onAck(n, ch, seq)` frees n
 * window slots; for Storm, `ch`/`seq` are the acked channel and its assigned seq (raw: -1, 0).
 */
export function connectPub(
  proto: Proto, o: ConnOpts, runId: string, chans: number[], channels: number,
  onAck: (n: number, ch: number, seq: number) => void, cent?: CentrifugoAuth,
): Promise<PubConn> {
  if (proto === 'cent') return connectCentrifugoPub(o, channels, cent!, onAck);
  return new Promise<PubConn>((resolve, reject) => {
    let ready = false;
    const conn: PubConn = { send: () => {}, close: () => ws?.terminate(), errors: 0 };
    let ws: LeanWs | undefined;
    const fail = (e: Error) => { if (!ready) { ready = true; reject(e); } };
    const ok = () => { if (!ready) { ready = true; resolve(conn); } };
    const start = (url: string) => {
      ws = openWs(url, o);
      ws.on('error', (e) => { conn.errors++; fail(e); });
      ws.on('close', () => fail(new Error('publisher closed before ready')));
      return ws;
    };
    if (proto === 'raw') {
      const w = start(`/pub`);
      conn.send = (ch, body) => w.send(`${ch} ${body}`);
      w.on('open', ok);
      w.on('message', (d) => onAck(Number(d.toString()), -1, 0));
    } else if (proto === 'sio') {
      const w = start(`/socket.io/?EIO=4&transport=websocket&role=pub`);
      let id = 0;
      conn.send = (ch, body) => w.send(`42${id++}["pub",${ch},"${body}"]`);
      w.on('message', (d) => {
        const b = d as Buffer;
        if (b[0] === 52 && b[1] === 51) onAck(1, -1, 0); // 43<id>[]
        else if (b[0] === 52 && b[1] === 48) ok();
        else if (b[0] === 50) w.send('3');
        else if (b[0] === 48) w.send('40');
      });
    } else {
      (async () => {
        const token = await stormToken(o, `bench-pub-${runId}-${chans[0] ?? 0}`);
        const w = start(`/ws?token=${encodeURIComponent(token)}`);
        // Request ids: set-up uses 1..2*chans.length, publishes the ids above SETUP.
        const SETUP = 2 * chans.length + 10;
        let nextId = SETUP;
        conn.send = (ch, body) => {
          const id = nextId++;
          w.send(`{"t":"pub","id":${id},"ch":"${channelName(ch, channels)}","cid":"${runId}-${ch}-${id}","body":"${body}"}`);
        };
        let pending = 0;
        const setUp = (k: number) => {
          // create each channel (public); one that exists is joined instead. 200 per message.
          const part = chans.slice(k, k + 200);
          pending = part.length;
          w.send(JSON.stringify(part.map((c, j) => ({ t: 'create', id: 1 + 2 * (k + j), ch: channelName(c, channels), visibility: 'public' }))));
        };
        let cursor = 0;
        const stepDone = () => {
          if (--pending > 0) return;
          cursor += 200;
          if (cursor < chans.length) setUp(cursor);
          else ok();
        };
        w.on('message', (d) => {
          let fs: any[];
          try { fs = frames(d as Buffer); } catch { conn.errors++; return; }
          for (const f of fs) {
            if (f?.t === 'ack') onAck(1, channelIndex(f.ch), Number(f.seq)); else if (f?.t === 'welcome') {
              if (chans.length === 0) ok();
              else setUp(0);
            } else if ((f?.t === 'created' || f?.t === 'ok') && f.id < SETUP) stepDone();
            else if (f?.t === 'err') {
              if (f.id < SETUP && f.id % 2 === 1 && f.code === 'channel_exists') {
                const c = chans[(f.id - 1) / 2]!;
                w.send(JSON.stringify({ t: 'join', id: f.id + 1, ch: channelName(c, channels) }));
              } else if (f.id < SETUP && f.id % 2 === 0 && f.code === 'already_member') stepDone();
              else if (f.id < SETUP) fail(new Error(`set-up of channel: ${f.code} ${f.message}`));
              else {
                conn.errors++;
                onAck(1, -1, 0);
              }
            }
          }
        });
      })().catch(fail);
    }
  });
}
