import { Buffer } from "node:buffer";

/**
 * Encoded bytes sent as the same WebSocket text message to many sockets. A server's frames are not
 * masked, so the whole frame (header and payload) is the same for every socket: it is built once,
 * on first use, and each socket writes it with one write (`SocketLike.sendFrame`) instead of
 * framing the payload again and writing header and payload as two.
 */
export class SharedBytes {
  #wire: Buffer | undefined;

  constructor(readonly bytes: Buffer) {}

  /** The complete WebSocket frame: a final text frame carrying `bytes`. */
  get wire(): Buffer {
    return (this.#wire ??= textFrame(this.bytes));
  }
}

/**
 * One server-to-client frame sent to many sockets. Its JSON text is encoded to UTF-8 at most once,
 * on first use, and every socket writes the same bytes: a string would be encoded again for each.
 */
export class SharedFrame {
  #shared: SharedBytes | undefined;

  constructor(readonly text: string) {}

  get shared(): SharedBytes {
    return (this.#shared ??= new SharedBytes(Buffer.from(this.text, "utf8")));
  }

  get bytes(): Buffer {
    return this.shared.bytes;
  }
}

/** RFC 6455 §5.2: FIN, opcode 1 (text), no mask, and the payload length in 7, 7+16 or 7+64 bits. */
export function textFrame(payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + n);
  frame[0] = 0x81;
  if (n < 126) frame[1] = n;
  else if (n < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    frame.writeUInt32BE(n >>> 0, 6);
  }
  payload.copy(frame, head);
  return frame;
}
