import type { Frame } from "./ws_client.ts";

/** One Server-Sent Event as received: its `id` line (if any), its data parsed as a frame. */
export interface SseEvent {
  id: string | undefined;
  frame: Frame;
}

/**
 * A Server-Sent Events client for tests (what a browser's EventSource does, minus reconnecting:
 * tests reconnect explicitly with `lastEventId`). Records every event and comment line; a test
 * waits on a condition checked at every event and at the end of the stream, never on a timer.
 * Raw on purpose (not the SDK): tests use it to check the server's SSE framing, ids and `Last-Event-ID` resume.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  /** The last `id` received: what EventSource would send as `Last-Event-ID`. */
  lastEventId: string | undefined;
  ended = false;
  /** Called with every event as it arrives (after it is recorded). */
  onEvent: ((e: SseEvent) => void) | undefined;
  readonly #waiters = new Set<() => void>();
  readonly #abort = new AbortController();

  private constructor() {}

  /** Opens `GET /sse?<query>`; rejects with the status and body when the server refuses the stream. */
  static async open(baseUrl: string, query: string, o: { token?: string; lastEventId?: string; timeoutMs?: number } = {}): Promise<SseClient> {
    const c = new SseClient();
    const headers: Record<string, string> = {};
    if (o.token) headers["authorization"] = `Bearer ${o.token}`;
    if (o.lastEventId !== undefined) headers["last-event-id"] = o.lastEventId;
    const timer = setTimeout(() => c.#abort.abort(), o.timeoutMs ?? 15_000);
    const res = await fetch(`${baseUrl}/sse?${query}`, { headers, signal: c.#abort.signal }).finally(() => clearTimeout(timer));
    if (res.status !== 200) throw Object.assign(new Error(`SSE refused: ${res.status} ${await res.text()}`), { status: res.status });
    if (res.headers.get("content-type") !== "text/event-stream") throw new Error(`SSE content-type ${res.headers.get("content-type")}`);
    void c.#read(res.body!);
    return c;
  }

  /** Frames received, in order. */
  get frames(): Frame[] {
    return this.events.map((e) => e.frame);
  }

  /** Seqs delivered on `ch`, in arrival order (duplicates kept). */
  seqs(ch: string): number[] {
    return this.frames.filter((f) => f.t === "msgs" && f.ch === ch).flatMap((f) => (f["m"] as Array<{ seq: number }>).map((m) => m.seq));
  }

  async waitFor(cond: () => boolean, timeoutMs = 15_000, what = "condition"): Promise<void> {
    if (cond()) return;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (cond()) {
          clearTimeout(timer);
          this.#waiters.delete(check);
          resolve();
        } else if (this.ended) {
          clearTimeout(timer);
          this.#waiters.delete(check);
          reject(new Error(`SSE stream ended before ${what}; frames: ${JSON.stringify(this.frames).slice(-600)}`));
        }
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`Timed out waiting for ${what}; frames: ${JSON.stringify(this.frames).slice(-600)}`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  close(): void {
    this.#abort.abort();
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buf = "";
    let id: string | undefined;
    let data: string[] = [];
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line === "") {
            if (data.length > 0) {
              const e = { id, frame: JSON.parse(data.join("\n")) as Frame };
              this.events.push(e);
              if (id !== undefined) this.lastEventId = id;
              this.onEvent?.(e);
            }
            id = undefined;
            data = [];
            this.#notify();
          } else if (line.startsWith(":")) this.comments.push(line.slice(1).trim());
          else if (line.startsWith("id: ")) id = line.slice(4);
          else if (line.startsWith("data: ")) data.push(line.slice(6));
        }
      }
    } catch {
      // Aborted by the test, or the connection dropped: either way the stream has ended.
    }
    this.ended = true;
    this.#notify();
  }

  #notify(): void {
    for (const w of [...this.#waiters]) w();
  }
}
