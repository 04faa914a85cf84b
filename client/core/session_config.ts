import type { Backoff } from "./backoff.ts";
import type { Channel } from "./channel.ts";
import type { OutboxStore } from "./outbox.ts";
import type { Platform } from "./platform.ts";
import type { StormClientEvents } from "./storm_client_events.ts";
import type { TransportFactory } from "./transport_factory.ts";
import type { TransportKind } from "./transport.ts";

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
