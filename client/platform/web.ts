import type { OutboxStore } from "../core/outbox.ts";
import type { Platform, SocketLike } from "../core/platform.ts";
import type { TabBus } from "../core/tab_bus.ts";
import { fetchExchange, type FetchFn } from "./fetch_exchange.ts";

/**
 * The SDK's platform from the web-standard globals (`WebSocket`, `fetch`, `crypto`, timers):
 * Deno as is, and the base of `browserPlatform()`. The outbox is in memory unless one is given.
 */
export function webPlatform(o: { outbox?: OutboxStore; tabs?: TabBus; onNetworkChange?: Platform["onNetworkChange"] } = {}): Platform {
  return {
    openSocket(url: string): SocketLike {
      const ws = new WebSocket(url);
      const s: SocketLike = {
        send: (text) => ws.send(text),
        close: (code, reason) => ws.close(code, reason),
        onopen: null,
        onmessage: null,
        onclose: null,
        onerror: null,
      };
      ws.onopen = () => s.onopen?.();
      ws.onmessage = (ev) => {
        if (typeof ev.data === "string") s.onmessage?.(ev.data);
      };
      ws.onclose = (ev) => s.onclose?.(ev.code, ev.reason);
      ws.onerror = () => s.onerror?.("WebSocket error");
      return s;
    },
    request: (req) => fetchExchange(globalThis.fetch.bind(globalThis) as unknown as FetchFn, req),
    setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
    clearTimeout: (h) => globalThis.clearTimeout(h as number),
    now: () => Date.now(),
    random: () => Math.random(),
    uuid: () => globalThis.crypto.randomUUID(),
    ...(o.outbox ? { outbox: o.outbox } : {}),
    ...(o.tabs ? { tabs: o.tabs } : {}),
    ...(o.onNetworkChange ? { onNetworkChange: o.onNetworkChange } : {}),
  };
}
