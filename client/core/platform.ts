import type { OutboxStore } from "./outbox.ts";
import type { TabBus } from "./tab_bus.ts";

/**
 * Everything the SDK needs from its runtime, passed in (never a module global): the core uses no
 * WebSocket, fetch, timer, storage or crypto global, so it type-checks with the ES library alone
 * (tsconfig.core.json) and runs unchanged in browsers, Node 20 and Deno. `client/platform/` has
 * one implementation per runtime family.
 */
export interface Platform {
  /** Opens a WebSocket to `url`. */
  openSocket(url: string): SocketLike;
  /** One HTTP request; `abort()` ends it (and its streaming body) early. */
  request(req: HttpRequest): HttpExchange;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
  /** Uniform in [0, 1): backoff jitter. */
  random(): number;
  /** A random UUID: publish client ids. */
  uuid(): string;
  /** Where publishes wait while offline; default: memory (lost with the process). */
  outbox?: OutboxStore;
  /** The other tabs of this browser, when there are any. */
  tabs?: TabBus;
  /** Network up/down hints (browsers' `online`/`offline` events): reconnect at once when back. */
  onNetworkChange?(listener: (online: boolean) => void): () => void;
}

/** The part of a WebSocket the SDK uses; the browser's, Deno's and the `ws` package's all fit. */
export interface SocketLike {
  send(text: string): void;
  close(code?: number, reason?: string): void;
  onopen: (() => void) | null;
  onmessage: ((text: string) => void) | null;
  /** `code` 1006 when the connection dropped without a close frame. */
  onclose: ((code: number, reason: string) => void) | null;
  onerror: ((message: string) => void) | null;
}

export interface HttpRequest {
  method: "GET" | "POST";
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export interface HttpExchange {
  /** Rejects on a network failure or abort; resolves once the status and headers arrived. */
  response: Promise<HttpResponseLike>;
  abort(): void;
}

export interface HttpResponseLike {
  status: number;
  /** The whole body as text. */
  text(): Promise<string>;
  /** The body as decoded text chunks as they arrive (Server-Sent Events). */
  chunks(): AsyncIterable<string>;
}
