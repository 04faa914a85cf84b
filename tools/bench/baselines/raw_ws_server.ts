// Baseline: a minimal raw `ws` broadcast server (the practical ceiling for fan-out).
//
//   node dist-tools/tools/bench/baselines/raw_ws_server.js --port P [--host 127.0.0.1] [--batch]
//
// Connections to /pub are publishers; every other connection is a subscriber of the rooms listed
// in its `?ch=1,2,3` query (room 0 without one). A publisher sends `<room> <body>`; the body is
// broadcast verbatim to the room's subscribers. The body carries the publisher's send timestamp
// (see bench/fanout_common.ts), so subscribers measure publish-to-deliver latency.
//
//  --batch : messages for a room arriving within one event-loop turn are joined with '\n' into ONE
//            frame, built once and sent to each of its subscribers (one send per socket per room
//            per turn).
//  default : one send per message per socket (what a naive server does).
//
// Publishers get acks: a text frame holding a decimal count of messages broadcast. Acks are held
// back while any subscriber has more than HIGH_WATER bytes queued (until all are below LOW_WATER),
// which pushes back on a publisher that bounds its outstanding messages: without it an
// as-fast-as-acks-allow publisher would grow the server's buffers without bound.
// The server exits when its stdin closes (so it never outlives the benchmark driver).
import http from 'node:http';
import { WebSocketServer, WebSocket } from 'ws';

const HIGH_WATER = 128 << 10;
const LOW_WATER = 32 << 10;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const port = Number(arg('--port') ?? 0);
const host = arg('--host') ?? '127.0.0.1';
const batch = process.argv.includes('--batch');

const subs = new Set<WebSocket>();
const rooms = new Map<number, Set<WebSocket>>();
const NL = Buffer.from('\n');
const SEND_OPTS = { binary: false };

let pending = new Map<number, Buffer[]>(); // batch mode: messages received this turn, per room
let flushScheduled = false;
const unacked = new Map<WebSocket, number>(); // publisher -> messages broadcast but not yet acked
let ackCheckScheduled = false;
let backlogged = false;

function maxBuffered(): number {
  let m = 0;
  for (const s of subs) if (s.bufferedAmount > m) m = s.bufferedAmount;
  return m;
}

function releaseAcks(): void {
  ackCheckScheduled = false;
  const buffered = maxBuffered();
  backlogged = backlogged ? buffered > LOW_WATER : buffered > HIGH_WATER;
  if (backlogged) {
    ackCheckScheduled = true;
    setTimeout(releaseAcks, 2);
    return;
  }
  for (const [pub, n] of unacked) if (pub.readyState === WebSocket.OPEN) pub.send(String(n));
  unacked.clear();
}

function scheduleAcks(pub: WebSocket, n: number): void {
  unacked.set(pub, (unacked.get(pub) ?? 0) + n);
  if (!ackCheckScheduled) {
    ackCheckScheduled = true;
    setImmediate(releaseAcks);
  }
}

const batchOwners: WebSocket[] = [];
function flush(): void {
  flushScheduled = false;
  const byRoom = pending;
  pending = new Map();
  const owners = batchOwners.splice(0);
  for (const [room, parts] of byRoom) {
    const members = rooms.get(room);
    if (!members) continue;
    const frame = parts.length === 1 ? parts[0]! : Buffer.concat(joinNl(parts));
    for (const s of members) s.send(frame, SEND_OPTS);
  }
  for (const pub of owners) scheduleAcks(pub, 1);
}

function joinNl(parts: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) out.push(NL);
    out.push(parts[i]!);
  }
  return out;
}

function onPublish(pub: WebSocket, msg: Buffer): void {
  const sp = msg.indexOf(32);
  const room = sp > 0 ? Number(msg.toString('latin1', 0, sp)) : 0;
  const data = sp > 0 ? msg.subarray(sp + 1) : msg;
  if (batch) {
    let parts = pending.get(room);
    if (!parts) pending.set(room, (parts = []));
    parts.push(data);
    batchOwners.push(pub);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  } else {
    for (const s of rooms.get(room) ?? []) s.send(data, SEND_OPTS);
    scheduleAcks(pub, 1);
  }
}

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' }).end('raw-ws baseline\n');
});
const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 1 << 20 });
wss.on('connection', (ws, req) => {
  if (req.url?.startsWith('/pub')) {
    ws.on('message', (data) => onPublish(ws, data as Buffer));
    ws.on('close', () => unacked.delete(ws));
  } else {
    const q = /[?&]ch=([0-9,]+)/.exec(req.url ?? '')?.[1];
    const mine = q ? q.split(',').map(Number) : [0];
    subs.add(ws);
    for (const r of mine) {
      let set = rooms.get(r);
      if (!set) rooms.set(r, (set = new Set()));
      set.add(ws);
    }
    ws.on('close', () => {
      subs.delete(ws);
      for (const r of mine) rooms.get(r)?.delete(ws);
    });
  }
  ws.on('error', () => ws.terminate());
});
server.listen(port, host, () => {
  const addr = server.address();
  const p = typeof addr === 'object' && addr ? addr.port : port;
  process.stdout.write(`LISTENING ${p} ${batch ? 'batched' : 'unbatched'}\n`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
