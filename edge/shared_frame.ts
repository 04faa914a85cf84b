import { Buffer } from "node:buffer";

/**
 * A WebSocket text message with its frame, sent to one socket or the same to many. A server's
 * frames are not masked, so the whole frame (header and payload) is the same for every socket: it
 * is built once, and each socket writes it with one write (`SocketLike.sendFrame`) instead of
 * framing the payload again and writing header and payload as two. The payload is a view into the
 * frame, not a second copy.
 */
export class SharedBytes {
  /** The payload: the message's UTF-8 bytes, a view into `wire`. */
  readonly bytes: Buffer;

  /** @param wire a final text frame whose header is `head` bytes long. */
  private constructor(readonly wire: Buffer, head: number) {
    this.bytes = wire.subarray(head);
  }

  /** A message made of `text`, encoded once into its frame. */
  static ofText(text: string): SharedBytes {
    const n = Buffer.byteLength(text, "utf8");
    const head = headerLength(n);
    const wire = frameOf(n, head);
    wire.write(text, head, "utf8");
    return new SharedBytes(wire, head);
  }

  /** A message made of `parts` one after the other, copied once into its frame. */
  static ofParts(parts: readonly Buffer[]): SharedBytes {
    let n = 0;
    for (const p of parts) n += p.length;
    const head = headerLength(n);
    const wire = frameOf(n, head);
    let at = head;
    for (const p of parts) at += p.copy(wire, at);
    return new SharedBytes(wire, head);
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
    return (this.#shared ??= SharedBytes.ofText(this.text));
  }

  get bytes(): Buffer {
    return this.shared.bytes;
  }
}

/** RFC 6455 §5.2: the payload length takes 7, 7+16 or 7+64 bits. */
function headerLength(n: number): number {
  return n < 126 ? 2 : n < 65_536 ? 4 : 10;
}

/** A frame of `head + n` bytes with its header written: FIN, opcode 1 (text), no mask, length `n`. */
function frameOf(n: number, head: number): Buffer {
  const frame = Buffer.allocUnsafe(head + n);
  frame[0] = 0x81;
  if (head === 2) frame[1] = n;
  else if (head === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    frame.writeUInt32BE(n >>> 0, 6);
  }
  return frame;
}
