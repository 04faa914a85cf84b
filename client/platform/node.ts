import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import type { OutboxStore } from "../core/outbox.ts";
import type { Platform, SocketLike } from "../core/platform.ts";
import { fetchExchange, type FetchFn } from "./fetch_exchange.ts";
import { FileOutbox } from "./file_outbox.ts";

/**
 * The SDK's platform for Node 20: WebSockets from the `ws` package (Node 20 has no global one),
 * the global `fetch`, and the outbox in memory or, with `outboxFile`, in a file that survives a
 * restart of the process.
 */
export function nodePlatform(o: { outboxFile?: string; outbox?: OutboxStore } = {}): Platform {
  return {
    openSocket(url: string): SocketLike {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      const s: SocketLike = {
        send: (text) => ws.send(text),
        close: (code, reason) => (ws.readyState === WebSocket.CONNECTING ? ws.terminate() : ws.close(code, reason)),
        onopen: null,
        onmessage: null,
        onclose: null,
        onerror: null,
      };
      ws.on("open", () => s.onopen?.());
      ws.on("message", (data: Buffer) => s.onmessage?.(data.toString("utf8")));
      ws.on("close", (code: number, reason: Buffer) => s.onclose?.(code, reason.toString("utf8")));
      ws.on("error", (err: Error) => s.onerror?.(err.message));
      return s;
    },
    request: (req) => fetchExchange(fetch as unknown as FetchFn, req),
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    now: () => Date.now(),
    random: () => Math.random(),
    uuid: () => randomUUID(),
    ...(o.outbox ? { outbox: o.outbox } : o.outboxFile ? { outbox: new FileOutbox(o.outboxFile) } : {}),
  };
}
