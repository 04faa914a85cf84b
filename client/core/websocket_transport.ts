import type { Platform, SocketLike } from "./platform.ts";
import { type ClientFrame, parseServerMessage } from "./protocol.ts";
import type { Transport, TransportHandlers } from "./transport.ts";

/**
 * The WebSocket transport: `GET /ws` without a token, then the token in a first `auth` frame, so
 * that a refused token closes with 4001 (a browser cannot read the status of a refused upgrade) and
 * the token stays out of URLs and access logs. Frames sent before the server verified it are held
 * by the server and run in order (PROTOCOL.md "Connecting").
 */
export class WebSocketTransport implements Transport {
  readonly kind = "websocket" as const;
  #socket: SocketLike | undefined;
  #closed = false;

  constructor(
    private readonly url: string,
    private token: string,
    private readonly platform: Platform,
    private readonly handlers: TransportHandlers,
  ) {}

  start(): void {
    const s = (this.#socket = this.platform.openSocket(this.url));
    s.onopen = () => this.#write([{ t: "auth", token: this.token }]);
    s.onmessage = (text) => {
      if (this.#closed) return;
      let frames;
      try {
        frames = parseServerMessage(text);
      } catch {
        return this.#end(1002, "Cannot parse server message: invalid JSON");
      }
      this.handlers.onFrames(frames);
    };
    s.onclose = (code, reason) => this.#end(code, reason);
    s.onerror = () => {};
  }

  send(frames: ClientFrame[]): void {
    this.#write(frames);
  }

  subscribe(ch: string, after: number, id: number): void {
    this.#write([{ t: "sub", id, ch, after }]);
  }

  unsubscribe(ch: string, id: number): void {
    this.#write([{ t: "unsub", id, ch }]);
  }

  reauth(token: string): void {
    this.token = token;
    this.#write([{ t: "auth", token }]);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket?.close(1000, "client closed");
  }

  #write(frames: ClientFrame[]): void {
    if (this.#closed || frames.length === 0) return;
    try {
      this.#socket?.send(JSON.stringify(frames.length === 1 ? frames[0] : frames));
    } catch {
      // Not open yet or already closing: the close handler reconnects and the client re-sends.
    }
  }

  #end(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket?.close();
    this.handlers.onClose({ code, reason });
  }
}
