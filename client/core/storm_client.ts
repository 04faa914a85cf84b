import { Backoff, type BackoffOptions } from "./backoff.ts";
import { Channel, type ChannelHost } from "./channel.ts";
import { ClientSession } from "./client_session.ts";
import type { ConnectionStatus } from "./connection_status.ts";
import { Emitter } from "./emitter.ts";
import { MemoryOutbox } from "./memory_outbox.ts";
import type { Platform } from "./platform.ts";
import type { ChangeKind, ChannelInfo, RequestFrame, ServerFrame } from "./protocol.ts";
import type { PublishResult } from "./publisher.ts";
import type { StormClientEvents } from "./storm_client_events.ts";
import { createTransport, type TransportFactory } from "./transport_factory.ts";
import type { TransportKind } from "./transport.ts";
import { tapTransports } from "./wire_tap.ts";

export interface StormClientOptions {
  /**
   * The node's HTTP base, e.g. `http://127.0.0.1:8080` (the WebSocket URL is derived from it), or a
   * function called at each connect (several nodes: return any of them).
   */
  url: string | (() => string);
  /** A JWT, or a function returning one (called at each connect). */
  token: string | (() => string | Promise<string>);
  /** Called for a new token when the server refuses or expires the current one (close 4001/4103, `reauth`). */
  refreshToken?: () => Promise<string>;
  /** The runtime's bits: `browserPlatform()`, `nodePlatform()`, `webPlatform()` (Deno). */
  platform: Platform;
  /** Transports to try, in order. Default: WebSocket, then SSE + POST, then long-poll. */
  transports?: TransportKind[];
  /** Consecutive failed opens of one transport before the next is tried. Default 2. */
  fallbackAfter?: number;
  /** While on a fallback, try WebSocket again this often, ms. Default 30 000. */
  upgradeProbeMs?: number;
  /** Reconnect delays and the bound on attempts (default: base 250 ms, max 15 s, 50 attempts). */
  backoff?: BackoffOptions;
  /** Application ping interval, ms; two unanswered pings drop the connection. Default 15 000. */
  heartbeatMs?: number;
  /** RTT above which the connection is `degraded`, ms. Default 1 500. */
  degradedRttMs?: number;
  /** A request without a reply within this is failed with `request_timeout`, ms. Default 10 000. */
  requestTimeoutMs?: number;
  /** A connection without a `welcome` within this is dropped and tried again, ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** Replaces how transports are made (tests use a fake one). */
  createTransport?: TransportFactory;
}

/**
 * A Storm client: one logical connection to a node that survives drops, node restarts, token
 * expiry and blocked transports, with an offline queue that commits each publish exactly once.
 *
 * @example
 * ```ts
 * import { StormClient } from "./client/index.ts";
 * import { nodePlatform } from "./client/platform/node.ts";
 *
 * const { token } = await (await fetch("http://127.0.0.1:8080/auth/dev-token", { method: "POST", body: '{"user":"alice"}' })).json();
 * const client = new StormClient({ url: "http://127.0.0.1:8080", token, platform: nodePlatform() });
 * client.on("status", (s) => console.log(s.state, s.transport, s.rtt));
 * await client.connect();
 * await client.createChannel("general").catch(() => {});
 * const general = client.channel("general");
 * general.on("message", (m) => console.log(`#${m.seq} <${m.from}> ${m.body}`));
 * await general.subscribe();
 * const { seq } = await general.publish("hello");
 * client.close();
 * ```
 */
export class StormClient extends Emitter<StormClientEvents> implements ChannelHost {
  readonly #session: ClientSession;
  readonly #channels = new Map<string, Channel>();

  constructor(o: StormClientOptions) {
    super();
    const platform = { ...o.platform, outbox: o.platform.outbox ?? new MemoryOutbox() };
    this.#session = new ClientSession({
      url: typeof o.url === "string" ? () => o.url as string : o.url,
      token: typeof o.token === "string" ? () => o.token as string : o.token,
      refreshToken: o.refreshToken,
      platform,
      transports: o.transports ?? ["websocket", "sse", "poll"],
      fallbackAfter: o.fallbackAfter ?? 2,
      upgradeProbeMs: o.upgradeProbeMs ?? 30_000,
      backoff: new Backoff({ maxAttempts: 50, ...o.backoff }, platform.random),
      heartbeatMs: o.heartbeatMs ?? 15_000,
      degradedRttMs: o.degradedRttMs ?? 1_500,
      requestTimeoutMs: o.requestTimeoutMs ?? 10_000,
      connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
      createTransport: tapTransports(o.createTransport ?? createTransport, (e) => this.emit("wire", e)),
      channel: (ch) => this.#channels.get(ch),
      channels: () => this.#channels.values(),
      emit: (event, ...args) => this.emit(event, ...args),
    });
  }

  /** The signed-in user (after the first `welcome`). */
  get user(): string | undefined {
    return this.#session.user;
  }

  get status(): ConnectionStatus {
    return this.#session.status;
  }

  /** Connects; resolves at the first `welcome`, rejects with `AuthError` or when attempts run out. */
  connect(): Promise<void> {
    return this.#session.connect();
  }

  /** Closes the connection and stops reconnecting. Queued publishes stay in the outbox. */
  close(): void {
    this.#session.close();
  }

  /** The handle of channel `name` (one per name). */
  channel(name: string): Channel {
    let c = this.#channels.get(name);
    if (!c) this.#channels.set(name, (c = new Channel(name, this)));
    return c;
  }

  async createChannel(name: string, o: { visibility?: "public" | "private"; topic?: string } = {}): Promise<ChannelInfo | undefined> {
    return ((await this.request({ t: "create", ch: name, ...o })) as Extract<ServerFrame, { t: "ok" }>).info;
  }

  /** Opens the direct conversation with `user`; resolves with its channel name (`dm:a:b`). */
  async dm(user: string): Promise<string> {
    return ((await this.request({ t: "dm", user })) as Extract<ServerFrame, { t: "ok" }>).ch;
  }

  /** An application ping; resolves with the round trip in ms. */
  ping(): Promise<number> {
    return this.#session.ping();
  }

  /** @internal */
  request(frame: RequestFrame): Promise<ServerFrame> {
    return this.#session.request(frame);
  }

  /** @internal */
  publish(ch: string, body: string, change?: { kind: ChangeKind; ref: number }): Promise<PublishResult> {
    return this.#session.publish(ch, body, change);
  }

  /** @internal */
  subscribe(ch: string): void {
    this.#session.subscribe(ch);
  }

  /** @internal */
  unsubscribe(ch: string): void {
    this.#session.unsubscribe(ch);
  }

  /** @internal */
  typing(ch: string): void {
    this.#session.typing(ch);
  }

  /** @internal */
  markRead(ch: string, seq: number): void {
    this.#session.markRead(ch, seq);
  }
}
