import WebSocket from "ws";
import { StormClient, type WireEvent } from "../../client/index.ts";
import { nodePlatform } from "../../client/platform/node.ts";
import type { HistoryEvent } from "../../tools/checker/history.ts";

/**
 * Clients that record what happens to them as history-checker events (checker/history.ts):
 * `resume`/`deliver` for subscribers (here, on the SDK), `pub`/`ack`/`err` for publishers
 * (recording_publisher.ts, on the raw `Conn` below).
 * Events are pushed the moment they happen, so each client's events are in its own order, as the
 * checker requires.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Frame = { t: string; id?: number; ch?: string; [k: string]: any };

/** An event as a client records it: `t` is stamped on push, `at` is the parser's. */
type NewEvent<T> = T extends unknown ? Omit<T, "t" | "at"> : never;

export class History {
  readonly events: HistoryEvent[] = [];
  push(e: NewEvent<HistoryEvent>): void {
    this.events.push({ ...e, t: Date.now() } as HistoryEvent);
  }
}

/**
 * One raw socket: replies matched by `id`, every frame handed to `onFrame`, `onClose` once. Raw on
 * purpose: the recording publisher keeps many publishes in flight on one channel, which the SDK's
 * ordered queue (one at a time per channel) never does.
 */
export class Conn {
  closeInfo: { code: number; reason: string } | undefined;
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, { resolve(f: Frame): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  #nextId = 1;

  private constructor(ws: WebSocket, onFrame: (f: Frame) => void, onClose: (code: number) => void) {
    this.#ws = ws;
    ws.on("message", (data: Buffer) => {
      const parsed = JSON.parse(data.toString("utf8")) as Frame | Frame[];
      for (const f of Array.isArray(parsed) ? parsed : [parsed]) {
        onFrame(f);
        if (typeof f.id !== "number" || f.t === "msgs") continue;
        const p = this.#pending.get(f.id);
        if (!p) continue;
        this.#pending.delete(f.id);
        clearTimeout(p.timer);
        p.resolve(f);
      }
    });
    ws.on("close", (code: number, reason: Buffer) => {
      this.closeInfo = { code, reason: reason.toString("utf8") };
      for (const p of this.#pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(`disconnected (${code})`));
      }
      this.#pending.clear();
      onClose(code);
    });
  }

  /** Opens `url?token=` and waits for `welcome`. */
  static open(url: string, token: string, onFrame: (f: Frame) => void = () => {}, onClose: (code: number) => void = () => {}, timeoutMs = 10_000): Promise<Conn> {
    const ws = new WebSocket(`${url}?token=${encodeURIComponent(token)}`);
    return new Promise<Conn>((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`No welcome from ${url} within ${timeoutMs} ms`));
      }, timeoutMs);
      let conn: Conn | undefined;
      const fail = (err: Error) => {
        clearTimeout(timer);
        reject(err);
      };
      ws.once("error", fail);
      ws.once("unexpected-response", (_req, res) => fail(new Error(`Unexpected server response: ${res.statusCode}`)));
      ws.once("open", () => {
        ws.off("error", fail);
        ws.on("error", () => {});
        conn = new Conn(ws, (f) => {
          if (f.t === "welcome") {
            clearTimeout(timer);
            resolve(conn!);
          }
          onFrame(f);
        }, (code) => {
          fail(new Error(`closed (${code}) before welcome`));
          onClose(code);
        });
      });
    });
  }

  get open(): boolean {
    return this.closeInfo === undefined;
  }

  request(frame: Record<string, unknown>, timeoutMs = 15_000): Promise<Frame> {
    const id = this.#nextId++;
    return new Promise<Frame>((resolve, reject) => {
      if (this.closeInfo) return reject(new Error(`disconnected (${this.closeInfo.code})`));
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error("timeout"));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#ws.send(JSON.stringify({ ...frame, id }));
    });
  }

  async ask(frame: Record<string, unknown>, timeoutMs?: number): Promise<Frame> {
    const r = await this.request(frame, timeoutMs);
    if (r.t === "err") throw new Error(`${String(frame["t"])} failed: ${r["code"]}: ${r["message"]}`);
    return r;
  }

  close(): void {
    if (this.closeInfo) return;
    this.#ws.close(1000, "bye");
    setTimeout(() => this.#ws.terminate(), 2_000).unref();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface SubscriberOptions {
  client: string;
  user: string;
  ch: string;
  token: string;
  history: History;
  /** The URL to (re)connect to (`ws://…/ws`); called for every connection, so a test can steer reconnects to live nodes. */
  url(): string;
}

/**
 * A subscriber on the SDK: it joins `ch` and subscribes from 0, and the SDK reconnects (to
 * `url()`) and resumes with `sub after` = its last seq, as docs/PROTOCOL.md tells clients to.
 * Every stream is recorded from the SDK's `wire` event, raw (a repeat the channel handle would
 * drop is still recorded: the checker judges the server).
 */
export class RecordingSubscriber {
  /** Every delivery, over all connections, in arrival order. */
  readonly delivered: Array<{ seq: number; cid: string; conn: number }> = [];
  /** Close codes of the connections that ended while subscribed. */
  readonly closes: number[] = [];
  lastSeq = 0;
  #conns = 0;
  #stopped = false;
  #waiters = new Set<() => void>();
  readonly #client: StormClient;
  /** `sub` requests on the wire: their `after`, by id. */
  readonly #subs = new Map<number, number>();

  constructor(readonly o: SubscriberOptions) {
    this.#client = new StormClient({
      url: () => o.url().replace(/^ws/, "http").replace(/\/ws\/?$/, ""),
      token: o.token,
      platform: nodePlatform(),
      transports: ["websocket"],
      backoff: { baseMs: 100, maxMs: 1_000 },
    });
    this.#client.on("wire", (e) => this.#onWire(e));
  }

  get connections(): number {
    return this.#conns;
  }

  async start(): Promise<this> {
    await this.#client.connect();
    const ch = this.#client.channel(this.o.ch);
    await ch.join();
    await ch.subscribe(0);
    return this;
  }

  #onWire(e: WireEvent): void {
    const { ch, client, history } = this.o;
    this.#conns = Math.max(this.#conns, e.conn);
    if (e.dir === "closed") {
      if (!this.#stopped) this.closes.push(e.code);
      return;
    }
    if (e.dir === "out") {
      for (const f of e.frames) if (f.t === "sub" && f.ch === ch) this.#subs.set(f.id, f.after);
      return;
    }
    for (const f of e.frames) {
      if (f.t === "subbed" && f.ch === ch && f.id !== undefined && this.#subs.has(f.id)) {
        history.push({ k: "resume", client, ch, after: this.#subs.get(f.id)!, conn: e.conn });
        this.#subs.delete(f.id);
      }
      if (f.t !== "msgs" || f.ch !== ch) continue;
      for (const m of f.m) {
        history.push({ k: "deliver", client, ch, seq: m.seq, cid: m.cid, body: m.body, from: m.from, conn: e.conn });
        this.delivered.push({ seq: m.seq, cid: m.cid, conn: e.conn });
        if (m.seq > this.lastSeq) this.lastSeq = m.seq;
      }
      for (const w of [...this.#waiters]) w();
    }
  }

  /** Resolves once a delivery of seq >= `seq` arrived. */
  waitForSeq(seq: number, timeoutMs: number): Promise<void> {
    if (this.lastSeq >= seq) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.lastSeq < seq) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`${this.o.client} on ${this.o.ch}: no seq ${seq} within ${timeoutMs} ms (last ${this.lastSeq}, ${this.#conns} connection(s), closes ${JSON.stringify(this.closes)})`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  seqs(): number[] {
    return this.delivered.map((d) => d.seq);
  }

  stop(): void {
    this.#stopped = true;
    this.#client.close();
  }
}
