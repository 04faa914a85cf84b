import WebSocket from "ws";
import { decodeCompactMsgs, type MsgsEncoding } from "../../edge/frames.ts";

/** A server frame as received (tests read arbitrary fields). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Frame = { t: string; id?: number; ch?: string; [k: string]: any };

export interface Msg {
  seq: number;
  ts: number;
  from: string;
  cid: string;
  body: string;
  /** A tombstone: its author's account was erased. */
  erased?: true;
  /** The chat's entries and current versions (docs/PROTOCOL.md "Message"). */
  kind?: string;
  ref?: number;
  edited?: true;
  deleted?: true;
  reactions?: Record<string, number>;
  replies?: number;
}

/**
 * A small Storm WebSocket client for tests. It records every frame the server sends (a server
 * message is one frame or an array of frames), matches replies to requests by `id`, keeps the
 * `msgs` deliveries of each channel in arrival order, and lets a test wait for a condition: the
 * condition is checked again on every frame and on close, never on a timer.
 * Raw on purpose (not the SDK): the server tests using it send exact, pipelined or malformed frames and check each frame the server sends.
 */
export class WsClient {
  /** Every frame received, in order. */
  readonly frames: Frame[] = [];
  /** Deliveries per channel, in arrival order (duplicates kept: tests check for them). */
  readonly msgs = new Map<string, Msg[]>();
  welcome: Frame | undefined;
  /** Called with every frame as it arrives (after it is recorded). */
  onFrame: ((f: Frame) => void) | undefined;
  /** Set when the socket closed. */
  closeInfo: { code: number; reason: string } | undefined;

  readonly #ws: WebSocket;
  readonly #pending = new Map<number, { resolve: (f: Frame) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  readonly #waiters = new Set<() => void>();
  #nextId = 1;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on("message", (data: Buffer) => this.#onMessage(data.toString("utf8")));
    ws.on("close", (code: number, reason: Buffer) => {
      this.closeInfo = { code, reason: reason.toString("utf8") };
      for (const [, p] of this.#pending) {
        clearTimeout(p.timer);
        p.reject(new Error(`Socket closed (${code} ${reason.toString("utf8")}) before the reply`));
      }
      this.#pending.clear();
      this.#notify();
    });
  }

  /**
   * Opens `wsUrl?token=...` and waits for the `welcome` frame. Rejects with the HTTP status when the
   * upgrade is refused (e.g. `Unexpected server response: 401`).
   */
  static async connect(wsUrl: string, token: string | undefined, timeoutMs = 10_000, enc?: MsgsEncoding): Promise<WsClient> {
    const query = [token === undefined ? "" : `token=${encodeURIComponent(token)}`, enc ? `enc=${enc}` : ""].filter(Boolean).join("&");
    const ws = new WebSocket(query ? `${wsUrl}?${query}` : wsUrl);
    const client = new WsClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(new Error(`Unexpected server response: ${res.statusCode}`)));
    });
    ws.on("error", () => {});
    if (token !== undefined) await client.waitFor(() => client.welcome !== undefined, timeoutMs, "welcome");
    return client;
  }

  /** Sends a frame (object), a raw text message as is, or a binary message (Buffer). */
  send(frame: object | string | Buffer): void {
    if (Buffer.isBuffer(frame)) this.#ws.send(frame, { binary: true });
    else this.#ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Sends `frame` with a fresh `id` (unless it has one) and resolves with the reply of that id. */
  request(frame: Record<string, unknown>, timeoutMs = 15_000): Promise<Frame> {
    const id = typeof frame["id"] === "number" ? frame["id"] : this.#nextId++;
    return new Promise<Frame>((resolve, reject) => {
      if (this.closeInfo) return reject(new Error(`Socket closed (${this.closeInfo.code}) before the request`));
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`No reply to ${JSON.stringify(frame).slice(0, 200)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.send({ ...frame, id });
    });
  }

  /** Like `request`, but rejects when the reply is an `err` frame. */
  async ask(frame: Record<string, unknown>, timeoutMs?: number): Promise<Frame> {
    const reply = await this.request(frame, timeoutMs);
    if (reply.t === "err") throw new Error(`${String(frame["t"])} failed: ${reply["code"]}: ${reply["message"]}`);
    return reply;
  }

  /** Publishes and resolves with the `ack` (or `err`) frame. */
  publish(ch: string, cid: string, body: string): Promise<Frame> {
    return this.request({ t: "pub", ch, cid, body });
  }

  /** Deliveries received so far on `ch`. */
  messages(ch: string): Msg[] {
    return this.msgs.get(ch) ?? [];
  }

  seqs(ch: string): number[] {
    return this.messages(ch).map((m) => m.seq);
  }

  /** Resolves once `cond()` holds; checked now, on every frame and on close. */
  waitFor(cond: () => boolean, timeoutMs = 15_000, what = "condition"): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!cond()) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; last frames: ${JSON.stringify(this.frames.slice(-3)).slice(0, 600)}`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** Resolves with the first frame (already received or future) that matches. */
  async waitForFrame(pred: (f: Frame) => boolean, timeoutMs = 15_000, what = "frame"): Promise<Frame> {
    let found: Frame | undefined;
    await this.waitFor(() => (found = this.frames.find(pred)) !== undefined, timeoutMs, what);
    return found!;
  }

  /** Resolves once `ch` has at least `n` deliveries. */
  waitForCount(ch: string, n: number, timeoutMs = 15_000): Promise<void> {
    return this.waitFor(() => this.messages(ch).length >= n, timeoutMs, `${n} messages on ${ch} (have ${this.messages(ch).length})`);
  }

  /** Resolves with the close code and reason. */
  async closed(timeoutMs = 15_000): Promise<{ code: number; reason: string }> {
    await this.waitFor(() => this.closeInfo !== undefined, timeoutMs, "close");
    return this.closeInfo!;
  }

  /** Closes the socket and waits for the close handshake. */
  async close(): Promise<void> {
    if (this.closeInfo) return;
    this.#ws.close(1000, "bye");
    await this.closed().catch(() => this.#ws.terminate());
  }

  /** Drops the TCP connection without a close handshake. */
  terminate(): void {
    this.#ws.terminate();
  }

  #onMessage(text: string): void {
    const parsed = JSON.parse(text) as Frame | Frame[];
    for (const f of Array.isArray(parsed) ? parsed : [parsed]) {
      this.frames.push(f);
      if (f.t === "welcome") this.welcome = f;
      if (f.t === "msgs" && typeof f.ch === "string") {
        let list = this.msgs.get(f.ch);
        if (!list) this.msgs.set(f.ch, (list = []));
        // A compact frame (`?enc=compact`) has a `seq` and rows; its messages have no cid.
        const ms = typeof f["seq"] === "number" ? decodeCompactMsgs({ seq: f["seq"], m: f["m"] }).map((m) => ({ ...m, cid: "" })) : (f["m"] as Msg[]);
        for (const m of ms) list.push(m);
      }
      this.onFrame?.(f);
      if (typeof f.id === "number" && f.t !== "msgs") {
        const p = this.#pending.get(f.id);
        if (p) {
          this.#pending.delete(f.id);
          clearTimeout(p.timer);
          p.resolve(f);
        }
      }
    }
    this.#notify();
  }

  #notify(): void {
    for (const w of [...this.#waiters]) w();
  }
}

/** Runs `tasks` with at most `width` in flight at once (pipelining without flooding). */
export async function pipelined<T>(count: number, width: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      out[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, lane));
  return out;
}
