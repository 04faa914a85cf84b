/**
 * The Storm client SDK. Pick the platform of your runtime from `client/platform/`:
 * `browserPlatform()` (browser.ts), `webPlatform()` (web.ts: Deno and other standard runtimes),
 * `nodePlatform()` (node.ts). See `StormClient` for an example.
 */
export { StormClient, type StormClientOptions } from "./core/storm_client.ts";
export type { StormClientEvents } from "./core/storm_client_events.ts";
export { Channel, type ChannelEvents, type HistoryPage, type SubscribeResult } from "./core/channel.ts";
export type { ConnectionState, ConnectionStatus } from "./core/connection_status.ts";
export { AuthError, ClientClosedError, ReconnectError, RejectedError, RetryableError, StormClientError, errorFromServer, type RetryRule } from "./core/errors.ts";
export type { PublishResult } from "./core/publisher.ts";
export type { ChangeKind, ChannelInfo, ClientFrame, Message, ServerFrame } from "./core/protocol.ts";
export type { HttpExchange, HttpRequest, HttpResponseLike, Platform, SocketLike } from "./core/platform.ts";
export type { OutboxEntry, OutboxStore } from "./core/outbox.ts";
export { MemoryOutbox } from "./core/memory_outbox.ts";
export type { TabBus, TabMessage } from "./core/tab_bus.ts";
export type { Transport, TransportClosed, TransportHandlers, TransportKind } from "./core/transport.ts";
export type { TransportFactory } from "./core/transport_factory.ts";
export type { BackoffOptions } from "./core/backoff.ts";
export type { WireEvent } from "./core/wire_tap.ts";
