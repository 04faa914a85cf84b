import type { Platform } from "./platform.ts";
import { PollTransport } from "./poll_transport.ts";
import { SseTransport } from "./sse_transport.ts";
import { type Transport, type TransportHandlers, type TransportKind, webSocketUrl } from "./transport.ts";
import { WebSocketTransport } from "./websocket_transport.ts";

/** Makes a transport of `kind` to the node at `base` (`http://host:port`). */
export type TransportFactory = (kind: TransportKind, base: string, token: string, platform: Platform, handlers: TransportHandlers) => Transport;

export const createTransport: TransportFactory = (kind, base, token, platform, handlers) => {
  if (kind === "websocket") return new WebSocketTransport(webSocketUrl(base), token, platform, handlers);
  if (kind === "sse") return new SseTransport(base, token, platform, handlers);
  return new PollTransport(base, token, platform, handlers);
};
