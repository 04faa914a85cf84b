import type { Platform } from "../core/platform.ts";
import { BroadcastTabBus } from "./broadcast_tab_bus.ts";
import { IndexedDbOutbox } from "./indexeddb_outbox.ts";
import { webPlatform } from "./web.ts";

/**
 * The SDK's platform for browsers: the web-standard globals, the outbox in IndexedDB (survives a
 * reload), the other tabs over BroadcastChannel with a leader by Web Locks, and the browser's
 * online/offline events to reconnect as soon as the network is back.
 */
export async function browserPlatform(): Promise<Platform> {
  return webPlatform({
    outbox: await IndexedDbOutbox.open(),
    tabs: new BroadcastTabBus(),
    onNetworkChange(listener) {
      const on = () => listener(true);
      const off = () => listener(false);
      addEventListener("online", on);
      addEventListener("offline", off);
      return () => {
        removeEventListener("online", on);
        removeEventListener("offline", off);
      };
    },
  });
}
