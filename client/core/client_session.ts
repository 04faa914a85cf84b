import type { Backoff } from "./backoff.ts";
import type { Channel } from "./channel.ts";
import type { ConnectionStatus } from "./connection_status.ts";
import { AuthError, ClientClosedError, errorFromServer, ReconnectError, type StormClientError } from "./errors.ts";
import type { OutboxStore } from "./outbox.ts";
import type { Platform } from "./platform.ts";
import type { ChangeKind, ClientFrame, RequestFrame, ServerFrame } from "./protocol.ts";
import { Heartbeat } from "./heartbeat.ts";
import { publishFrame, Publisher, type PublishResult } from "./publisher.ts";
import { Requests } from "./requests.ts";
import { dispatchServerEvent } from "./server_events.ts";
import { SubRequests } from "./sub_requests.ts";
import { TabSync } from "./tab_sync.ts";
import { TokenKeeper } from "./token_keeper.ts";
import { UpgradeProbe } from "./upgrade_probe.ts";
import { TransportChooser } from "./transport_chooser.ts";
import type { StormClientEvents } from "./storm_client_events.ts";
import type { TransportFactory } from "./transport_factory.ts";
import type { Transport, TransportClosed, TransportKind } from "./transport.ts";

/** @internal The resolved options of a `StormClient`. */
export interface SessionConfig {
  url: () => string;
  token: () => string | Promise<string>;
  refreshToken: (() => Promise<string>) | undefined;
  platform: Platform & { outbox: OutboxStore };
  transports: TransportKind[];
  fallbackAfter: number;
  upgradeProbeMs: number;
  backoff: Backoff;
  heartbeatMs: number;
  degradedRttMs: number;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  createTransport: TransportFactory;
  channel(ch: string): Channel | undefined;
  channels(): Iterable<Channel>;
  emit<K extends keyof StormClientEvents>(event: K, ...args: Parameters<StormClientEvents[K]>): void;
}

/**
 * @internal The connection behind a `StormClient`: picks a transport (falling back after
 * `fallbackAfter` failed opens, probing WebSocket again while on a fallback), reconnects with
 * backoff, renews tokens, pings, and on every new connection subscribes again from each channel's
 * last seq and sends the outbox.
 */
export class ClientSession {
  user: string | undefined;
  status: ConnectionStatus;
  readonly #c: SessionConfig;
  readonly #p: Platform & { outbox: OutboxStore };
  readonly #requests: Requests;
  readonly #publisher: Publisher;
  readonly #tabs: TabSync;
  readonly #subs: SubRequests;
  readonly #chooser: TransportChooser;
  readonly #unsentReads = new Map<string, number>();
  readonly #typingAt = new Map<string, number>();
  readonly #upgrade: UpgradeProbe;
  readonly #tokens: TokenKeeper;
  #current: Transport | undefined;
  #open = false;
  #stopped = true;
  /** The platform said the network is down: no attempts until it says it is back. */
  #networkDown = false;
  #heartbeat: Heartbeat | undefined;
  #timers = { reconnect: undefined as unknown, open: undefined as unknown };
  #openWaiters: Array<{ resolve(): void; reject(e: StormClientError): void }> = [];
  #untabs: (() => void) | undefined;
  #unnet: (() => void) | undefined;

  constructor(c: SessionConfig) {
    this.#c = c;
    this.#p = c.platform;
    this.#requests = new Requests(c.platform);
    this.#subs = new SubRequests(c.platform);
    this.#tokens = new TokenKeeper(c.token, c.refreshToken);
    this.#upgrade = new UpgradeProbe(c.platform, c.upgradeProbeMs, () => {
      const token = this.#tokens.current;
      if (this.#stopped || !this.#open || this.#current?.kind === "websocket" || token === undefined) return undefined;
      const p: Transport = this.#c.createTransport("websocket", this.#base(), token, this.#p, {
        onFrames: (fs) => this.#onFrames(p, fs),
        onClose: (c) => this.#onClose(p, c),
      });
      return p;
    });
    this.#chooser = new TransportChooser(c.transports, c.fallbackAfter);
    this.status = { state: "offline", transport: c.transports[0]!, rtt: undefined, attempt: 0 };
    this.#tabs = new TabSync(this.#p.tabs, () => this.user);
    this.#publisher = new Publisher({
      outbox: this.#p.outbox, owner: this.#tabs.owner, now: () => this.#p.now(), uuid: () => this.#p.uuid(), random: () => this.#p.random(),
      setTimeout: (fn, ms) => this.#p.setTimeout(fn, ms),
      ready: () => this.#open && !this.#stopped,
      send: async (e) => {
        const ack = (await this.#send(publishFrame(e))) as Extract<ServerFrame, { t: "ack" }>;
        return { seq: ack.seq, dup: ack.dup === true };
      },
      queued: (e) => {
        this.#c.channel(e.ch)?.dispatch("pending", { cid: e.cid, body: e.body, from: this.user, ...(e.change ? { change: e.change } : {}) });
        this.#tabs.queued(e);
      },
      committed: (e, r) => {
        this.#c.channel(e.ch)?.dispatch("committed", { cid: e.cid, seq: r.seq });
        this.#tabs.committed(e, r.seq);
        this.#c.emit("published", r);
      },
      failed: (e, error) => this.#c.channel(e.ch)?.dispatch("failed", { cid: e.cid, error }),
    });
  }

  async connect(): Promise<void> {
    if (this.#open) return;
    const opened = new Promise<void>((resolve, reject) => this.#openWaiters.push({ resolve, reject }));
    if (this.#stopped) {
      this.#stopped = false;
      this.#c.backoff.reset();
      this.#listen();
      await this.#publisher.restore((await this.#p.outbox.list()).filter((e) => e.owner === this.#tabs.owner));
      void this.#openTransport();
    }
    return opened;
  }

  close(): void {
    this.#stopped = true;
    this.#stopConnectionTimers();
    this.#clearOpenTimer();
    this.#subs.clear();
    if (this.#timers.reconnect !== undefined) this.#p.clearTimeout(this.#timers.reconnect);
    this.#current?.close();
    this.#upgrade.stop();
    this.#current = undefined;
    this.#open = false;
    this.#requests.failAll(undefined, new ClientClosedError());
    this.#untabs?.();
    this.#unnet?.();
    this.#untabs = this.#unnet = undefined;
    this.#settleOpen(new ClientClosedError());
    this.#setStatus({ state: "offline" });
  }

  request(frame: RequestFrame): Promise<ServerFrame> {
    return this.#whenOpen().then(() => this.#send(frame));
  }

  publish(ch: string, body: string, change?: { kind: ChangeKind; ref: number }): Promise<PublishResult> {
    // A sent message ends the typing: the next keystroke announces typing again at once.
    this.#typingAt.delete(ch);
    return this.#publisher.publish(ch, body, this.user, change);
  }

  subscribe(ch: string): void {
    if (this.#open) this.#sendSub(ch);
  }

  unsubscribe(ch: string): void {
    if (this.#open) this.#current!.unsubscribe(ch, this.#requests.nextId());
  }

  typing(ch: string): void {
    const now = this.#p.now();
    if (!this.#open || now - (this.#typingAt.get(ch) ?? -Infinity) < 2_000) return;
    this.#typingAt.set(ch, now);
    this.#current!.send([{ t: "typing", ch }]);
  }

  markRead(ch: string, seq: number): void {
    this.#c.emit("read", { ch, seq });
    this.#tabs.read(ch, seq);
    if (this.#open) this.#current!.send([{ t: "read", ch, seq }]);
    else this.#unsentReads.set(ch, Math.max(seq, this.#unsentReads.get(ch) ?? 0));
  }

  async ping(): Promise<number> {
    await this.#whenOpen();
    const sent = this.#p.now();
    await this.#send({ t: "ping" }, this.#c.heartbeatMs);
    return this.#p.now() - sent;
  }

  /** Sends a request frame on the open transport and waits for its reply. */
  #send(frame: RequestFrame | { t: "ping" }, timeoutMs = this.#c.requestTimeoutMs): Promise<ServerFrame> {
    const t = this.#current;
    if (!this.#open || !t) return Promise.reject(new ReconnectError("disconnected", "Not connected"));
    const id = this.#requests.nextId();
    const reply = this.#requests.track(id, t, timeoutMs);
    t.send([{ ...frame, id } as ClientFrame]);
    return reply;
  }

  #whenOpen(): Promise<void> {
    if (this.#open) return Promise.resolve();
    if (this.#stopped) return Promise.reject(new ReconnectError("offline", "Cannot send: the client is not connected (call connect())"));
    return new Promise((resolve, reject) => {
      const timer = this.#p.setTimeout(() => reject(new ReconnectError("disconnected", `Not connected within ${this.#c.requestTimeoutMs} ms`)), this.#c.requestTimeoutMs);
      this.#openWaiters.push({ resolve: () => (this.#p.clearTimeout(timer), resolve()), reject: (e) => (this.#p.clearTimeout(timer), reject(e)) });
    });
  }

  #settleOpen(err?: StormClientError): void {
    for (const w of this.#openWaiters.splice(0)) err ? w.reject(err) : w.resolve();
  }

  #listen(): void {
    this.#untabs = this.#tabs.listen((ch) => this.#c.channel(ch), this.#c.emit, this.#p.outbox, (orphans) => void this.#publisher.restore(orphans));
    this.#unnet = this.#p.onNetworkChange?.((online) => {
      if (this.#stopped) return;
      this.#networkDown = !online;
      const t = this.#current;
      if (!online) {
        // The network is gone: the connection is dead even if no close has arrived yet, and
        // attempts would only fail (and count against the transport); wait for it to come back.
        if (this.#timers.reconnect !== undefined) this.#p.clearTimeout(this.#timers.reconnect);
        this.#timers.reconnect = undefined;
        if (t) {
          t.close();
          this.#onClose(t, { code: 1006, reason: "network offline" });
        }
        return this.#setStatus({ state: "offline" });
      }
      if (!t) void this.#openTransport();
    });
  }

  async #openTransport(): Promise<void> {
    this.#timers.reconnect = undefined;
    if (this.#stopped || this.#networkDown) return;
    const kind = this.#chooser.current;
    this.#setStatus({ state: "connecting", transport: kind });
    let token: string;
    try {
      token = await this.#tokens.get();
    } catch (err) {
      return this.#failAuth(`Cannot get a token: ${(err as Error).message}`);
    }
    if (this.#stopped || this.#current) return;
    const t: Transport = this.#c.createTransport(kind, this.#base(), token, this.#p, {
      onFrames: (fs) => this.#onFrames(t, fs),
      onClose: (c) => this.#onClose(t, c),
    });
    this.#current = t;
    this.#open = false;
    t.start();
    // A node that accepts connections but never answers (paused, overloaded) must not hold the client.
    this.#timers.open = this.#p.setTimeout(() => {
      if (!this.#open) this.#drop(t, `no welcome within ${this.#c.connectTimeoutMs} ms`);
    }, this.#c.connectTimeoutMs);
  }

  #onFrames(t: Transport, frames: ServerFrame[]): void {
    if (this.#upgrade.is(t)) {
      if (!frames.some((f) => f.t === "welcome")) return;
      this.#promote(this.#upgrade.take());
    }
    if (t !== this.#current) return;
    for (const f of frames) {
      // A frame earlier in this batch may have made the client give up on `t`: the rest is stale.
      if (t !== this.#current) return;
      if (this.#requests.answer(f)) continue;
      this.#onFrame(t, f);
    }
  }

  #onFrame(t: Transport, f: ServerFrame): void {
    switch (f.t) {
      case "welcome":
        return this.#onWelcome(t, f);
      case "subbed":
        this.#subs.answered(f.id);
        this.#subs.confirmed(f.ch);
        return this.#c.channel(f.ch)?.onSubbed(f);
      case "msgs": {
        const ch = this.#c.channel(f.ch);
        if (ch?.subscribed && !ch.onMessages(f.m)) this.#sendSub(f.ch);
        return;
      }
      case "err": {
        const err = errorFromServer(f.code, f.message, f.retry);
        const ch = this.#subs.answered(f.id);
        if (ch === undefined) return this.#c.emit("error", err);
        // Refused for good (`not_member`, ...): the handle stops asking. For a while (the channel
        // moving between nodes): asked again. Anything else: resumed on a fresh connection.
        if (err.retry === "never") return this.#c.channel(ch)?.onSubFailed(err);
        if (err.retry === "retry") {
          return this.#subs.retryLater(ch, () => {
            if (t === this.#current && this.#c.channel(ch)?.subscribed) this.#sendSub(ch);
          });
        }
        return this.#drop(t, `sub ${ch} failed: ${err.code}`);
      }
      case "reauth":
        return void this.#renewOnOpenConnection(t);
      default:
        dispatchServerEvent(f, (ch) => this.#c.channel(ch), this.#c.emit);
    }
  }

  #onWelcome(t: Transport, f: Extract<ServerFrame, { t: "welcome" }>): void {
    // An HTTP stream opened again for a new channel set says welcome again: nothing to redo.
    if (this.#open) return;
    this.#open = true;
    this.#clearOpenTimer();
    this.user = f.user;
    this.#tokens.accepted();
    this.#chooser.opened(t.kind);
    this.#c.backoff.reset();
    this.#setStatus({ state: "connected", transport: t.kind, attempt: 0 });
    this.#c.emit("welcome", { user: f.user, channels: f.channels, reads: f.reads, unread: f.unread ?? {}, mentions: f.mentions ?? {} });
    for (const ch of this.#c.channels()) if (ch.subscribed) this.#sendSub(ch.name);
    for (const [ch, seq] of this.#unsentReads) t.send([{ t: "read", ch, seq }]);
    this.#unsentReads.clear();
    this.#publisher.pumpAll();
    void this.#tabs.orphans(this.#p.outbox, f.user).then((orphans) => this.#publisher.restore(orphans));
    this.#settleOpen();
    this.#heartbeat = new Heartbeat({
      platform: this.#p, intervalMs: this.#c.heartbeatMs, degradedRttMs: this.#c.degradedRttMs,
      ping: async (timeoutMs) => void (await this.#send({ t: "ping" }, timeoutMs)),
      quality: (q) => this.#setStatus(q),
      dead: () => this.#drop(t, "no answer to two pings"),
    });
    if (this.#chooser.onFallback(t.kind)) this.#upgrade.schedule();
  }

  #onClose(t: Transport, c: TransportClosed): void {
    if (this.#upgrade.is(t)) return this.#upgrade.failed();
    if (t !== this.#current) return;
    const wasOpen = this.#open;
    this.#current = undefined;
    this.#open = false;
    this.#requests.failAll(t);
    this.#subs.clear();
    this.#clearOpenTimer();
    this.#stopConnectionTimers();
    if (this.#stopped) return;
    if (this.#networkDown) return;
    if (c.code === 4001 || c.code === 4103) return void this.#renewAndReconnect(c);
    if (!wasOpen) this.#chooser.failed(t.kind);
    this.#scheduleReconnect(c);
  }

  #scheduleReconnect(c: TransportClosed): void {
    const delay = this.#c.backoff.next();
    if (delay === undefined) {
      this.#stopped = true;
      const err = new ReconnectError("attempts_exhausted", `Cannot connect after ${this.#c.backoff.maxAttempts} attempts (last: ${c.code} ${c.reason})`);
      this.#setStatus({ state: "offline" });
      this.#c.emit("error", err);
      return this.#settleOpen(err);
    }
    this.#setStatus({ state: "connecting", transport: this.#chooser.current, attempt: this.#c.backoff.attempts });
    this.#timers.reconnect = this.#p.setTimeout(() => void this.#openTransport(), delay);
  }

  async #renewAndReconnect(c: TransportClosed): Promise<void> {
    try {
      await this.#tokens.afterRefusal(`${c.code} ${c.reason}`);
    } catch (err) {
      return this.#failAuth((err as Error).message);
    }
    void this.#openTransport();
  }

  async #renewOnOpenConnection(t: Transport): Promise<void> {
    try {
      const token = await this.#tokens.renew();
      if (token !== undefined && t === this.#current) t.reauth(token);
    } catch (err) {
      this.#c.emit("error", new AuthError("unauthenticated", `Cannot refresh the token: ${(err as Error).message}`));
    }
  }

  #failAuth(message: string): void {
    const err = new AuthError("unauthenticated", message);
    this.#stopped = true;
    this.#setStatus({ state: "offline" });
    this.#c.emit("error", err);
    this.#settleOpen(err);
  }

  #sendSub(ch: string): void {
    const t = this.#current!;
    const id = this.#requests.nextId();
    this.#subs.sent(id, ch, t.kind === "websocket" ? this.#c.requestTimeoutMs : undefined, () => this.#drop(t, `no answer to sub ${ch}`));
    t.subscribe(ch, this.#c.channel(ch)?.lastSeq ?? 0, id);
  }

  /** Gives up on connection `t` (if still the current one) and reconnects. */
  #drop(t: Transport, reason: string): void {
    if (t !== this.#current) return;
    t.close();
    this.#onClose(t, { code: 1006, reason });
  }

  /** WebSocket works again: it replaces the fallback; what was unanswered there is sent again. */
  #promote(p: Transport): void {
    const old = this.#current;
    old?.close();
    if (old) this.#requests.failAll(old);
    this.#stopConnectionTimers();
    this.#current = p;
    this.#open = false;
    this.#chooser.useWebSocket();
  }

  #clearOpenTimer(): void {
    if (this.#timers.open !== undefined) this.#p.clearTimeout(this.#timers.open);
    this.#timers.open = undefined;
  }

  #stopConnectionTimers(): void {
    this.#heartbeat?.stop();
    this.#heartbeat = undefined;
    this.#upgrade.stop();
  }

  #base(): string {
    return this.#c.url().replace(/\/+$/, "");
  }

  #setStatus(patch: Partial<ConnectionStatus>): void {
    const next = { ...this.status, ...patch };
    if (next.state === this.status.state && next.transport === this.status.transport && next.rtt === this.status.rtt && next.attempt === this.status.attempt) return;
    this.status = next;
    this.#c.emit("status", next);
  }
}
