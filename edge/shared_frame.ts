import { Buffer } from "node:buffer";

/**
 * One server-to-client frame sent to many sockets. Its JSON text is encoded to UTF-8 at most once,
 * on first use, and every socket writes the same bytes: `ws` frames a Buffer without copying it,
 * whereas a string is encoded again for each socket.
 */
export class SharedFrame {
  #bytes: Buffer | undefined;

  constructor(readonly text: string) {}

  get bytes(): Buffer {
    return (this.#bytes ??= Buffer.from(this.text, "utf8"));
  }
}
