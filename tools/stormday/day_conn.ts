import { WebSocket } from "ws";
import type { SourcePorts } from "../bench/source_ports.ts";

/** What a bulk connection reports to its load process (one sink per process). */
export interface ConnSink {
  ports: SourcePorts;
  localAddress: string;
  readyTimeoutMs: number;
  /** A connection attempt ended: ready, or failed (`kind` says why). */
  onAttempt(ok: boolean, kind?: string): void;
  /** A ready connection was lost; `planned`: closed by churn, not by a fault. */
  onDropped(planned: boolean): void;
  onAck(latencyMs: number): void;
  onPubError(code: string): void;
  /** A message delivered; `live`: published after the subscription was made (else replayed on resume). */
  onDeliver(latencyMs: number, live: boolean): void;
  onGap(missing: number): void;
  onDup(): void;
  /** Where to connect next (a healthy node), and when to try again after `attempt` failures. */
  pickPort(): number;
  backoffMs(attempt: number): number;
}

interface Pending {
  t0: number;
}

/**
 * One bulk user of Storm Day: one WebSocket at a time, subscribed to each of its rooms from the
 * last seq it received there (so a reconnect resumes, G4), checking that every room's seqs come
 * in order with no gap and no repeat. It is ready once every `sub` is answered. Publishes carry
 * their send time in the body, so a delivery's latency is measured on the receiving side (every
 * process shares this machine's clock). A lost connection reconnects with backoff to a node the
 * load process sees healthy.
 */
export class DayConn {
  ws: WebSocket | undefined;
  port = 0;
  ready = false;
  readonly lastSeq: number[];
  /** Per room, the channel's last seq when the current subscription was made. */
  readonly #liveFrom: number[];
  readonly #pending = new Map<number, Pending>();
  /** Publish request ids start past the subscriptions' (1 … rooms). */
  #nextId = 16;
  #subsLeft = 0;
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(readonly sink: ConnSink, readonly token: string, readonly rooms: readonly string[]) {
    this.lastSeq = rooms.map(() => 0);
    this.#liveFrom = rooms.map(() => 0);
  }

  /** Opens a connection now (first connect, or a reconnect after the backoff). */
  connect(): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.port = this.sink.pickPort();
    const localPort = this.sink.ports.take();
    const ws = new WebSocket(`ws://127.0.0.1:${this.port}/ws?token=${this.token}`, {
      perMessageDeflate: false, skipUTF8Validation: true, handshakeTimeout: this.sink.readyTimeoutMs,
      localAddress: this.sink.localAddress, localPort,
    });
    this.ws = ws;
    this.ready = false;
    const readyTimer = setTimeout(() => this.#fail(ws, "timeout"), this.sink.readyTimeoutMs);
    ws.on("error", (e: NodeJS.ErrnoException) => {
      if (this.ws !== ws || this.ready) return;
      clearTimeout(readyTimer);
      if (e.code === "EADDRINUSE") {
        this.sink.ports.skipped++;
        this.ws = undefined;
        return this.connect();
      }
      const status = /Unexpected server response: (\d+)/.exec(e.message)?.[1];
      this.#fail(ws, e.code ? `connect:${e.code}` : status ? `http:${status}` : "connect:other");
    });
    ws.on("close", (code) => {
      clearTimeout(readyTimer);
      if (this.ws !== ws) return;
      if (!this.ready) return this.#fail(ws, `closed-before-ready:${code}`);
      this.#lost(false);
    });
    ws.on("message", (d: Buffer) => {
      if (this.ws !== ws) return;
      if (this.#onMessage(d.toString(), ws)) clearTimeout(readyTimer);
    });
  }

  /** Publishes `body` to room `k`; false when not ready. */
  publish(k: number, cid: string): boolean {
    const ws = this.ws;
    if (!this.ready || !ws) return false;
    const id = this.#nextId++;
    this.#pending.set(id, { t0: Date.now() });
    ws.send(`{"t":"pub","id":${id},"ch":"${this.rooms[k]}","cid":"${cid}","body":"${Date.now()} ${cid}"}`);
    return true;
  }

  /** Publishes older than `timeoutMs` are given up as `timeout` errors. */
  expire(now: number, timeoutMs: number): void {
    for (const [id, p] of this.#pending) {
      if (now - p.t0 < timeoutMs) break;
      this.#pending.delete(id);
      this.sink.onPubError("timeout");
    }
  }

  /** Drops the connection (a health check, churn, a reconnect storm) and reconnects after `delayMs`. */
  drop(planned: boolean, delayMs: number): void {
    if (!this.ws) return;
    if (this.ready) this.#lost(planned, delayMs);
    else this.#fail(this.ws, "dropped-while-connecting");
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.ws?.terminate();
    this.ws = undefined;
  }

  /** Returns true once the connection is ready. */
  #onMessage(text: string, ws: WebSocket): boolean {
    if (text.startsWith('{"t":"presence"') || text.startsWith('{"t":"typing"')) return this.ready;
    const frames = JSON.parse(text) as Frame | Frame[];
    for (const f of Array.isArray(frames) ? frames : [frames]) {
      if (f.t === "msgs") this.#onMsgs(f);
      else if (f.t === "ack") this.#settle(f.id, undefined);
      else if (f.t === "err") {
        if (f.id !== undefined && f.id <= this.rooms.length) {
          this.#fail(ws, `sub:${f.code}`);
          return false;
        }
        this.#settle(f.id, f.code ?? "err");
      } else if (f.t === "welcome") this.#subscribe(ws);
      else if (f.t === "subbed") {
        const k = (f.id ?? 0) - 1;
        if (k >= 0 && k < this.rooms.length) this.#liveFrom[k] = f.last ?? 0;
        if (--this.#subsLeft === 0) {
          this.ready = true;
          this.#attempt = 0;
          this.sink.onAttempt(true);
        }
      }
    }
    return this.ready;
  }

  /** Subscription k has request id k + 1, below every publish's. */
  #subscribe(ws: WebSocket): void {
    this.#subsLeft = this.rooms.length;
    ws.send(JSON.stringify(this.rooms.map((ch, k) => ({ t: "sub", id: k + 1, ch, after: this.lastSeq[k] }))));
  }

  #onMsgs(f: Frame): void {
    const k = this.rooms.indexOf(f.ch!);
    if (k < 0) return;
    const now = Date.now();
    for (const m of f.m ?? []) {
      const expected = this.lastSeq[k]! + 1;
      if (m.seq > expected) this.sink.onGap(m.seq - expected);
      else if (m.seq < expected) {
        this.sink.onDup();
        continue;
      }
      this.lastSeq[k] = m.seq;
      const sent = Number(m.body.slice(0, m.body.indexOf(" ")));
      if (sent > 0) this.sink.onDeliver(now - sent, m.seq > this.#liveFrom[k]!);
    }
  }

  #settle(id: number | undefined, code: string | undefined): void {
    const p = id === undefined ? undefined : this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id!);
    if (code === undefined) this.sink.onAck(Date.now() - p.t0);
    else this.sink.onPubError(code);
  }

  #fail(ws: WebSocket, kind: string): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    ws.terminate();
    this.sink.onAttempt(false, kind);
    this.#retry(this.sink.backoffMs(++this.#attempt));
  }

  #lost(planned: boolean, delayMs?: number): void {
    const ws = this.ws;
    this.ws = undefined;
    this.ready = false;
    ws?.terminate();
    for (const _ of this.#pending.values()) this.sink.onPubError("disconnected");
    this.#pending.clear();
    this.sink.onDropped(planned);
    this.#retry(delayMs ?? this.sink.backoffMs(++this.#attempt));
  }

  #retry(delayMs: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.connect(), delayMs);
  }
}

type Frame = { t: string; id?: number; ch?: string; code?: string; last?: number; m?: Array<{ seq: number; body: string }> };
