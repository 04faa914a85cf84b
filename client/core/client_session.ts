import { ChannelSubscriptions } from "./channel_subscriptions.ts";
import type { ConnectionStatus } from "./connection_status.ts";
import { AuthError, ClientClosedError, errorFromServer, ReconnectError } from "./errors.ts";
import type { OutboxStore } from "./outbox.ts";
import type { Platform } from "./platform.ts";
import type { ChangeKind, ClientFrame, RequestFrame, ServerFrame } from "./protocol.ts";
import { Heartbeat } from "./heartbeat.ts";
import { OpenWaiters } from "./open_waiters.ts";
import type { Publisher, PublishResult } from "./publisher.ts";
import { ReadsAndTyping } from "./reads_and_typing.ts";
import { Requests } from "./requests.ts";
import { dispatchServerEvent } from "./server_events.ts";
import type { SessionConfig } from "./session_config.ts";
import { sessionPublisher } from "./session_publisher.ts";
import { TabSync } from "./tab_sync.ts";
import { TokenKeeper } from "./token_keeper.ts";
import { UpgradeProbe } from "./upgrade_probe.ts";
import { TransportChooser } from "./transport_chooser.ts";
import type { Transport, TransportClosed } from "./transport.ts";

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
  readonly #subs: ChannelSubscriptions;
  readonly #chooser: TransportChooser;
  readonly #signals = new ReadsAndTyping();
  readonly #upgrade: UpgradeProbe;
  readonly #tokens: TokenKeeper;
  #current: Transport | undefined;
  #open = false;
  #stopped = true;
  /** The platform said the network is down: no attempts until it says it is back. */
  #networkDown = false;
  #heartbeat: Heartbeat | undefined;
  #timers = { reconnect: undefined as unknown, open: undefined as unknown };
  readonly #openWaiters: OpenWaiters;
  #untabs: (() => void) | undefined;
  #unnet: (() => void) | undefined;

  constructor(c: SessionConfig) {
    this.#c = c;
    this.#p = c.platform;
    this.#requests = new Requests(c.platform);
    this.#subs = new ChannelSubscriptions({
      platform: c.platform, requestTimeoutMs: c.requestTimeoutMs, nextId: () => this.#requests.nextId(), channel: (ch) => this.#c.channel(ch),
      current: (t) => t === this.#current, drop: (t, reason) => this.#drop(t, reason),
    });
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
    this.#openWaiters = new OpenWaiters(c.platform);
    this.#publisher = sessionPublisher({
      platform: this.#p, tabs: this.#tabs, user: () => this.user,
      ready: () => this.#open && !this.#stopped,
      send: (frame) => this.#send(frame),
      channel: (ch) => this.#c.channel(ch),
      emit: (event, r) => this.#c.emit(event, r),
    });
  }

  async connect(): Promise<void> {
    if (this.#open) return;
    const opened = this.#openWaiters.next();
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
    this.#openWaiters.settle(new ClientClosedError());
    this.#setStatus({ state: "offline" });
  }

  request(frame: RequestFrame): Promise<ServerFrame> {
    return this.#whenOpen().then(() => this.#send(frame));
  }

  publish(ch: string, body: string, change?: { kind: ChangeKind; ref: number }): Promise<PublishResult> {
    this.#signals.sent(ch);
    return this.#publisher.publish(ch, body, this.user, change);
  }

  subscribe(ch: string): void {
    if (this.#open) this.#subs.send(this.#current!, ch);
  }

  unsubscribe(ch: string): void {
    if (this.#open) this.#current!.unsubscribe(ch, this.#requests.nextId());
  }

  typing(ch: string): void {
    if (!this.#open || !this.#signals.typingDue(ch, this.#p.now())) return;
    this.#current!.send([{ t: "typing", ch }]);
  }

  markRead(ch: string, seq: number): void {
    this.#c.emit("read", { ch, seq });
    this.#tabs.read(ch, seq);
    if (this.#open) this.#current!.send([{ t: "read", ch, seq }]);
    else this.#signals.holdRead(ch, seq);
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
    return this.#openWaiters.within(this.#c.requestTimeoutMs);
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
        return this.#subs.subbed(f);
      case "msgs":
        return this.#subs.messages(t, f);
      case "err": {
        const err = errorFromServer(f.code, f.message, f.retry);
        if (!this.#subs.refused(t, f.id, err)) this.#c.emit("error", err);
        return;
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
    for (const ch of this.#c.channels()) if (ch.subscribed) this.#subs.send(t, ch.name);
    this.#signals.flushReads((ch, seq) => t.send([{ t: "read", ch, seq }]));
    this.#publisher.pumpAll();
    void this.#tabs.orphans(this.#p.outbox, f.user).then((orphans) => this.#publisher.restore(orphans));
    this.#openWaiters.settle();
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
      return this.#openWaiters.settle(err);
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
    this.#openWaiters.settle(err);
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
