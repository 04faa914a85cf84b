import type { ConnectionState } from "./connection_status.ts";
import type { Platform } from "./platform.ts";

export interface HeartbeatDeps {
  platform: Platform;
  intervalMs: number;
  degradedRttMs: number;
  /** One application ping (`{"t":"ping","id"}`) on the open connection; rejects when unanswered. */
  ping(timeoutMs: number): Promise<void>;
  quality(q: { state: ConnectionState; rtt?: number }): void;
  /** Two pings in a row went unanswered: the connection is presumed dead. */
  dead(): void;
}

/**
 * Application pings on one connection: the first right after the welcome (so the RTT is known from
 * the start), then every `intervalMs`. A slow answer or one missed ping makes the connection
 * `degraded`; two missed in a row end it. Also keeps a connection whose platform cannot answer the
 * server's WebSocket pings (or an HTTP transport) visibly alive.
 */
export class Heartbeat {
  #timer: unknown;
  #missed = 0;
  #stopped = false;

  constructor(private readonly d: HeartbeatDeps) {
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.d.platform.clearTimeout(this.#timer);
  }

  #schedule(ms: number): void {
    this.#timer = this.d.platform.setTimeout(() => void this.#beat(), ms);
  }

  async #beat(): Promise<void> {
    const p = this.d.platform;
    try {
      const sent = p.now();
      await this.d.ping(this.d.intervalMs);
      if (this.#stopped) return;
      const rtt = p.now() - sent;
      this.#missed = 0;
      this.d.quality({ state: rtt > this.d.degradedRttMs ? "degraded" : "connected", rtt });
    } catch {
      if (this.#stopped) return;
      this.#missed++;
      this.d.quality({ state: "degraded" });
      if (this.#missed >= 2) {
        this.stop();
        return this.d.dead();
      }
    }
    this.#schedule(this.d.intervalMs);
  }
}
