// Baseline: Socket.IO doing the same job as Storm's fan-out (the peer).
//
//   node dist-tools/tools/bench/baselines/socketio_server.js --port P [--host 127.0.0.1]
//
// WebSocket transport only, no compression. Subscribers join the rooms listed in their `ch` query
// (`ch=1,2,3`; room 0 without one) on connect; a socket connecting with query `role=pub` is a
// publisher: each `pub` event (room number, body string, ack callback) is broadcast with
// `io.to(room).emit('m', body)` and then acknowledged. Socket.IO's adapter encodes a broadcast
// packet once and writes it to every socket in the room.
// The server exits when its stdin closes (so it never outlives the benchmark driver).
import http from 'node:http';
import { Server } from 'socket.io';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const port = Number(arg('--port') ?? 0);
const host = arg('--host') ?? '127.0.0.1';

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' }).end('socket.io baseline\n');
});
const io = new Server(server, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  httpCompression: false,
  maxHttpBufferSize: 1 << 20,
});

io.on('connection', (socket) => {
  if (socket.handshake.query['role'] === 'pub') {
    socket.on('pub', (room: unknown, body: unknown, ack?: unknown) => {
      io.to(`r${Number(room)}`).emit('m', body);
      if (typeof ack === 'function') ack();
    });
  } else {
    const q = socket.handshake.query['ch'];
    const mine = typeof q === 'string' && q ? q.split(',').map(Number) : [0];
    void socket.join(mine.map((r) => `r${r}`));
  }
});

server.listen(port, host, () => {
  const addr = server.address();
  const p = typeof addr === 'object' && addr ? addr.port : port;
  process.stdout.write(`LISTENING ${p} socket.io\n`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
