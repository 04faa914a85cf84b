import type { ClientFrame, ServerFrame } from "./protocol.ts";

export type TransportKind = "websocket" | "sse" | "poll";

/** Why a transport ended. `code` follows WebSocket close codes (1006: dropped, 4001: token refused, 41xx: reconnect). */
export interface TransportClosed {
  code: number;
  reason: string;
}

export interface TransportHandlers {
  /** Server frames, in the order the server sent them. */
  onFrames(frames: ServerFrame[]): void;
  /** Called at most once, never after `close()`. */
  onClose(closed: TransportClosed): void;
}

/**
 * One way of talking to a node: a WebSocket, or Server-Sent Events plus `POST /cmd`, or long-poll
 * plus `POST /cmd`. Each delivers the same server frames; a transport is "open" once its `welcome`
 * frame arrived. Subscriptions are positions: each transport delivers every message of a
 * subscribed channel with a seq past the position (G4), possibly again after a re-subscription,
 * and the client drops what it has already seen.
 */
export interface Transport {
  readonly kind: TransportKind;
  start(): void;
  send(frames: ClientFrame[]): void;
  /** Receive `ch` from position `after`. `id` tags the WebSocket `sub` (HTTP streams answer by channel). */
  subscribe(ch: string, after: number, id: number): void;
  unsubscribe(ch: string, id: number): void;
  /** A fresh token for the open connection (WebSocket: an `auth` frame; HTTP: later requests). */
  reauth(token: string): void;
  /** Ends the transport; no `onClose` follows. */
  close(): void;
}

/** Turns the base URL (`http://host:port`) into the WebSocket endpoint (`ws://host:port/ws`). */
export function webSocketUrl(base: string): string {
  return `${base.replace(/^http/, "ws").replace(/\/+$/, "")}/ws`;
}

/** Close code a stream's final `err` frame stands for, as a WebSocket would have closed. */
export function closeCodeOf(code: string): number {
  if (code === "unauthenticated") return 4001;
  if (code === "token_expired") return 4103;
  if (code === "slow_consumer") return 4100;
  if (code === "shutting_down") return 4101;
  return 1006;
}
