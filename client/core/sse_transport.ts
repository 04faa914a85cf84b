import { HttpCommands } from "./http_commands.ts";
import type { HttpExchange, Platform } from "./platform.ts";
import { type ClientFrame, parseServerMessage, positionQuery, type ServerFrame } from "./protocol.ts";
import { closeCodeOf, type Transport, type TransportHandlers } from "./transport.ts";

/**
 * Server-Sent Events (`GET /sse?ch=<name>:<seq>...`) for what the server sends, `POST /cmd` for
 * what the client sends. The stream is read with the platform's streaming fetch rather than
 * `EventSource`, so that the token goes in a header and a refused token (401) is told apart from a
 * network failure. The channel set is part of the stream's URL: subscribing or unsubscribing opens a
 * new stream from the positions seen so far (the client drops any repeat).
 */
export class SseTransport implements Transport {
  readonly kind = "sse" as const;
  readonly #positions = new Map<string, number>();
  readonly #commands: HttpCommands;
  #stream: HttpExchange | undefined;
  #reopenTimer: unknown;
  #closed = false;

  constructor(
    private readonly base: string,
    private token: string,
    private readonly platform: Platform,
    private readonly handlers: TransportHandlers,
  ) {
    this.#commands = new HttpCommands(base, () => this.token, platform, (f) => this.#deliver(f), (c) => this.#end(c.code, c.reason));
  }

  start(): void {
    this.#open();
  }

  send(frames: ClientFrame[]): void {
    this.#commands.send(frames);
  }

  subscribe(ch: string, after: number, id: number): void {
    void this.#commands.checkReadable(ch, id).then((refused) => {
      if (this.#closed) return;
      if (refused) return this.handlers.onFrames([{ ...refused, id }]);
      this.#positions.set(ch, after);
      this.#scheduleReopen();
    }, (err: Error) => this.#end(1006, `Cannot check channel ${ch}: ${err.message}`));
  }

  unsubscribe(ch: string): void {
    if (this.#positions.delete(ch)) this.#scheduleReopen();
  }

  reauth(token: string): void {
    this.token = token;
  }

  close(): void {
    this.#closed = true;
    if (this.#reopenTimer !== undefined) this.platform.clearTimeout(this.#reopenTimer);
    this.#stream?.abort();
    this.#commands.close();
  }

  /** Subscriptions made in one turn share one new stream. */
  #scheduleReopen(): void {
    this.#reopenTimer ??= this.platform.setTimeout(() => {
      this.#reopenTimer = undefined;
      if (this.#closed) return;
      this.#stream?.abort();
      this.#open();
    }, 0);
  }

  #open(): void {
    const q = positionQuery(this.#positions);
    const x = (this.#stream = this.platform.request({
      method: "GET",
      url: `${this.base}/sse${q ? `?${q}` : ""}`,
      headers: { authorization: `Bearer ${this.token}`, accept: "text/event-stream" },
    }));
    void this.#read(x);
  }

  async #read(x: HttpExchange): Promise<void> {
    let lastErr: { code: string; message: string } | undefined;
    try {
      const res = await x.response;
      if (res.status !== 200) {
        const text = await res.text().catch(() => "");
        return this.#endIfCurrent(x, res.status === 401 ? 4001 : 1006, `GET /sse: HTTP ${res.status} ${text.slice(0, 200)}`);
      }
      let buf = "";
      for await (const chunk of res.chunks()) {
        if (x !== this.#stream || this.#closed) return;
        buf += chunk;
        for (let end = buf.indexOf("\n\n"); end >= 0; end = buf.indexOf("\n\n")) {
          const data = dataOf(buf.slice(0, end));
          buf = buf.slice(end + 2);
          if (data === undefined) continue;
          const frames = parseServerMessage(data);
          for (const f of frames) if (f.t === "err" && f.id === undefined) lastErr = f;
          this.#deliver(frames);
        }
      }
      this.#endIfCurrent(x, lastErr ? closeCodeOf(lastErr.code) : 1006, lastErr ? lastErr.code : "stream ended");
    } catch (err) {
      this.#endIfCurrent(x, 1006, `GET /sse failed: ${(err as Error).message}`);
    }
  }

  #deliver(frames: ServerFrame[]): void {
    if (this.#closed) return;
    for (const f of frames) {
      if (f.t === "msgs" && f.m.length > 0 && this.#positions.has(f.ch)) this.#positions.set(f.ch, f.m[f.m.length - 1]!.seq);
    }
    this.handlers.onFrames(frames);
  }

  #endIfCurrent(x: HttpExchange, code: number, reason: string): void {
    if (x === this.#stream) this.#end(code, reason);
  }

  #end(code: number, reason: string): void {
    if (this.#closed) return;
    this.close();
    this.handlers.onClose({ code, reason });
  }
}

/** The `data:` of one event (lines joined by newlines), or undefined for a comment-only event (heartbeat). */
function dataOf(event: string): string | undefined {
  const lines = event.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(l.startsWith("data: ") ? 6 : 5));
  return lines.length > 0 ? lines.join("\n") : undefined;
}
