import type { HttpExchange, Platform } from "./platform.ts";
import type { ClientFrame, ServerFrame } from "./protocol.ts";
import type { TransportClosed } from "./transport.ts";

/**
 * `POST /cmd` for the HTTP transports: frames sent in one turn go in one request (an array of at
 * most 256), and the reply array is handed on as server frames. A request that fails (network,
 * refused token, a node answering with an HTTP error) ends the transport, so the client reconnects
 * and re-sends what was unanswered, as after a dropped WebSocket.
 */
export class HttpCommands {
  #batch: ClientFrame[] = [];
  #flushTimer: unknown;
  readonly #inFlight = new Set<HttpExchange>();
  #closed = false;

  constructor(
    private readonly base: string,
    private readonly token: () => string,
    private readonly platform: Platform,
    private readonly onFrames: (frames: ServerFrame[]) => void,
    private readonly onFail: (closed: TransportClosed) => void,
  ) {}

  send(frames: ClientFrame[]): void {
    if (this.#closed) return;
    this.#batch.push(...frames);
    this.#flushTimer ??= this.platform.setTimeout(() => this.#flush(), 0);
  }

  /**
   * Checks that the user may read `ch` before a stream or poll names it: the server refuses a whole
   * stream for one channel it may not read, so a refused channel is answered as a WebSocket `sub`
   * would be (an `err` with the subscription's id) and left out. Resolves with that `err`, or
   * undefined when the channel can be read.
   */
  async checkReadable(ch: string, id: number): Promise<Extract<ServerFrame, { t: "err" }> | undefined> {
    const x = this.platform.request({
      method: "POST",
      url: `${this.base}/cmd`,
      headers: { authorization: `Bearer ${this.token()}`, "content-type": "application/json" },
      body: JSON.stringify([{ t: "hist", id, ch, limit: 1 }]),
    });
    this.#inFlight.add(x);
    try {
      const res = await x.response;
      const text = await res.text();
      if (res.status !== 200) throw new Error(`POST /cmd: HTTP ${res.status} ${text.slice(0, 200)}`);
      const reply = (JSON.parse(text) as ServerFrame[]).find((f) => f.t === "err");
      return reply?.t === "err" && reply.retry === "never" ? reply : undefined;
    } finally {
      this.#inFlight.delete(x);
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#flushTimer !== undefined) this.platform.clearTimeout(this.#flushTimer);
    for (const x of this.#inFlight) x.abort();
    this.#inFlight.clear();
  }

  #flush(): void {
    this.#flushTimer = undefined;
    while (this.#batch.length > 0) void this.#post(this.#batch.splice(0, 256));
  }

  async #post(frames: ClientFrame[]): Promise<void> {
    const x = this.platform.request({
      method: "POST",
      url: `${this.base}/cmd`,
      headers: { authorization: `Bearer ${this.token()}`, "content-type": "application/json" },
      body: JSON.stringify(frames),
    });
    this.#inFlight.add(x);
    try {
      const res = await x.response;
      const text = await res.text();
      if (this.#closed) return;
      if (res.status !== 200) return this.onFail({ code: res.status === 401 ? 4001 : 1006, reason: `POST /cmd: HTTP ${res.status} ${text.slice(0, 200)}` });
      this.onFrames(JSON.parse(text) as ServerFrame[]);
    } catch (err) {
      if (!this.#closed) this.onFail({ code: 1006, reason: `POST /cmd failed: ${(err as Error).message}` });
    } finally {
      this.#inFlight.delete(x);
    }
  }
}
