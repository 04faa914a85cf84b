import type { Buffer } from "node:buffer";
import type { Duplex } from "node:stream";
import { WebSocket } from "ws";

/** The part of `ws`'s WebSocket internals `sendFrame` writes to: the TCP socket under it. */
interface WithSocket {
  _socket: Duplex | null;
}

/**
 * The edge's WebSocket class (the `WebSocket` option of its `WebSocketServer`): `ws`'s own, plus
 * `sendFrame` (see `SocketLike`), which writes a frame built once for every subscriber of a batch
 * straight to the TCP socket, one write per socket. Order with `send` holds because `ws`'s sender,
 * with permessage-deflate off (the edge's setting) and no Blob payloads (the edge sends none),
 * writes each message to the same socket synchronously: its queue only fills while compressing or
 * reading a Blob. `bufferedAmount` counts these writes: it reads the TCP socket's own buffer.
 */
export class EdgeWebSocket extends WebSocket {
  sendFrame(wire: Buffer): void {
    const socket = (this as unknown as WithSocket)._socket;
    if (this.readyState !== WebSocket.OPEN || !socket) return;
    socket.write(wire);
  }
}
