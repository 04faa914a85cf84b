// A lean WebSocket client (RFC 6455, no extensions) for the load processes' connections.
//
// Why not `ws`: a fan-out subscriber receives tens of thousands of 10-20 KB messages per second, and
// with `ws` each read and each message spanning reads allocated a fresh Buffer. Those are off-heap
// (external) bytes, and V8 starts a full mark-compact every few tens of MB of them: with `--trace-gc`
// each subscriber process ran one every 25-50 ms, and perf put a third of the load processes' CPU in
// GC. On 2 shared cores that CPU is taken from the server being measured. Here every connection of a
// process reads into ONE buffer (`onread`), a message is handed to its listener as a view into that
// buffer, and only a frame cut by a read is copied, into a buffer the connection keeps and reuses.
//
// The contract that buys: a 'message' listener gets a Buffer that is valid only until it returns
// (every listener in bench/ scans its bytes synchronously). Server frames are never masked; a
// masked one, a bad handshake or a message above MAX_MESSAGE is an 'error', then 'close'. Pings are
// answered with pongs, a close frame with a close frame.
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';

/** The read buffer every connection of the process shares: a read is consumed before the next. */
const READ = Buffer.allocUnsafe(256 << 10);
const MAX_MESSAGE = 64 << 20;
const MAX_HANDSHAKE = 16 << 10;
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const CRLF2 = Buffer.from('\r\n\r\n');

export interface LeanWsOptions {
  host: string;
  port: number;
  /** Path and query of the request, e.g. `/ws?token=..`. */
  path: string;
  localAddress?: string | undefined;
  handshakeTimeoutMs?: number;
}

/** Events: 'open', 'message' (data: Buffer, valid during the call only), 'error' (Error), 'close'. */
export class LeanWs extends EventEmitter {
  readonly #socket: net.Socket;
  readonly #key = randomBytes(16).toString('base64');
  readonly #mask = randomBytes(4);
  #open = false;
  #done = false;
  /** Bytes of a frame (or of the handshake response) cut by a read, kept for the next read. */
  #acc: Buffer | undefined;
  #accLen = 0;
  /** The frames so far of a fragmented message. */
  #fragments: Buffer[] | undefined;
  #fragmentsLen = 0;

  constructor(o: LeanWsOptions) {
    super();
    const socket = net.connect({
      host: o.host,
      port: o.port,
      ...(o.localAddress ? { localAddress: o.localAddress } : {}),
      onread: { buffer: READ, callback: (n: number) => { this.#onRead(n); return true; } },
    });
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.setTimeout(o.handshakeTimeoutMs ?? 15_000, () => this.#fail(new Error('WebSocket handshake timed out')));
    socket.on('connect', () => {
      socket.write(
        `GET ${o.path} HTTP/1.1\r\nHost: ${o.host}:${o.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${this.#key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('error', (e) => this.#fail(e));
    socket.on('close', () => {
      this.#done = true;
      this.emit('close');
    });
  }

  get isOpen(): boolean {
    return this.#open && !this.#done;
  }

  /** Sends one text message. */
  send(text: string): void {
    if (!this.isOpen) throw new Error('WebSocket is not open');
    this.#socket.write(this.#frame(0x1, text));
  }

  terminate(): void {
    this.#done = true;
    this.#socket.destroy();
  }

  #onRead(n: number): void {
    if (this.#done) return;
    if (this.#accLen === 0) {
      const used = this.#parse(READ, 0, n);
      if (used < n && !this.#done) this.#keep(READ, used, n);
      return;
    }
    this.#keep(READ, 0, n);
    const acc = this.#acc!;
    const used = this.#parse(acc, 0, this.#accLen);
    if (this.#done) return;
    acc.copyWithin(0, used, this.#accLen);
    this.#accLen -= used;
  }

  /** Appends `buf[from, to)` to the bytes kept for the next read. */
  #keep(buf: Buffer, from: number, to: number): void {
    const need = this.#accLen + (to - from);
    if (!this.#acc || this.#acc.length < need) {
      const grown = Buffer.allocUnsafeSlow(Math.max(need, 2 * (this.#acc?.length ?? 0), 64 << 10));
      if (this.#acc) this.#acc.copy(grown, 0, 0, this.#accLen);
      this.#acc = grown;
    }
    buf.copy(this.#acc, this.#accLen, from, to);
    this.#accLen = need;
  }

  /** Handles what is complete in `buf[p, end)`; returns where the incomplete rest starts. */
  #parse(buf: Buffer, p: number, end: number): number {
    if (!this.#open) {
      const h = buf.indexOf(CRLF2, p);
      if (h < 0 || h >= end) {
        if (end - p > MAX_HANDSHAKE) this.#fail(new Error('WebSocket handshake response too long'));
        return p;
      }
      if (!this.#accept(buf.toString('latin1', p, h))) return end;
      p = h + 4;
    }
    while (!this.#done && end - p >= 2) {
      const b0 = buf[p]!;
      const b1 = buf[p + 1]!;
      if (b1 & 0x80) return this.#protocolError('a masked frame from the server');
      let len = b1 & 0x7f;
      let head = 2;
      if (len === 126) {
        if (end - p < 4) break;
        len = buf.readUInt16BE(p + 2);
        head = 4;
      } else if (len === 127) {
        if (end - p < 10) break;
        len = buf.readUInt32BE(p + 2) * 2 ** 32 + buf.readUInt32BE(p + 6);
        head = 10;
      }
      if (len + this.#fragmentsLen > MAX_MESSAGE) return this.#protocolError(`a message above ${MAX_MESSAGE} bytes`);
      if (end - p - head < len) break;
      const start = p + head;
      p = start + len;
      this.#onFrame(b0 & 0x80, b0 & 0x0f, buf, start, p);
    }
    return p;
  }

  #onFrame(fin: number, opcode: number, buf: Buffer, start: number, end: number): void {
    switch (opcode) {
      case 0x1:
      case 0x2:
        if (this.#fragments) return void this.#protocolError('a new message inside a fragmented one');
        if (fin) return void this.emit('message', buf.subarray(start, end));
        this.#fragments = [Buffer.from(buf.subarray(start, end))];
        this.#fragmentsLen = end - start;
        return;
      case 0x0: {
        if (!this.#fragments) return void this.#protocolError('a continuation frame outside a message');
        this.#fragments.push(Buffer.from(buf.subarray(start, end)));
        this.#fragmentsLen += end - start;
        if (!fin) return;
        const whole = Buffer.concat(this.#fragments, this.#fragmentsLen);
        this.#fragments = undefined;
        this.#fragmentsLen = 0;
        return void this.emit('message', whole);
      }
      case 0x8:
        // Echo the status code (the first two bytes, when given), then let the server close.
        this.#socket.end(this.#frame(0x8, buf.subarray(start, Math.min(end, start + 2))));
        this.#done = true;
        return;
      case 0x9:
        this.#socket.write(this.#frame(0xa, buf.subarray(start, end)));
        return;
      case 0xa:
        return;
      default:
        this.#protocolError(`opcode ${opcode}`);
    }
  }

  /** Checks the `101` response and its `Sec-WebSocket-Accept`; false (having failed) when wrong. */
  #accept(head: string): boolean {
    const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1];
    const accept = /\r\nsec-websocket-accept:\s*(\S+)/i.exec(head)?.[1];
    const expected = createHash('sha1').update(this.#key + GUID).digest('base64');
    if (status !== '101' || accept !== expected) {
      this.#fail(new Error(`WebSocket upgrade refused: ${head.split('\r\n')[0]}${status === '101' ? ' (bad Sec-WebSocket-Accept)' : ''}`));
      return false;
    }
    this.#open = true;
    this.#socket.setTimeout(0);
    this.emit('open');
    return true;
  }

  /**
   * A client frame: FIN, `opcode`, masked with this connection's key (RFC 6455 §5.3). The payload
   * is written straight into the frame and masked there: one allocation per message sent.
   */
  #frame(opcode: number, payload: string | Buffer): Buffer {
    const n = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    const head = n < 126 ? 2 : n < 65_536 ? 4 : 10;
    const frame = Buffer.allocUnsafe(head + 4 + n);
    frame[0] = 0x80 | opcode;
    if (head === 2) frame[1] = 0x80 | n;
    else if (head === 4) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(n, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
      frame.writeUInt32BE(n >>> 0, 6);
    }
    const m = this.#mask;
    m.copy(frame, head);
    const at = head + 4;
    if (typeof payload === 'string') frame.write(payload, at);
    else payload.copy(frame, at);
    for (let i = 0; i < n; i++) frame[at + i]! ^= m[i & 3]!;
    return frame;
  }

  #protocolError(what: string): number {
    this.#fail(new Error(`WebSocket protocol error: ${what}`));
    return 0;
  }

  #fail(e: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.emit('error', e);
    this.#socket.destroy();
  }
}
