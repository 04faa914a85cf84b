import type { Platform } from "./platform.ts";

/**
 * The `sub` requests of the open connection that await their `subbed`, by request id. A WebSocket
 * `subbed` carries the id; one with no answer within the timeout means the connection (or the
 * node behind it) is stuck, and `stuck` is called: the client then drops the connection and
 * resumes elsewhere, as PROTOCOL.md's "Resume" asks. HTTP streams answer by channel and have
 * their own request timeouts, so their subscriptions are tracked without a timer.
 */
export class SubRequests {
  readonly #pending = new Map<number, { ch: string; timer: unknown }>();

  constructor(private readonly platform: Platform) {}

  sent(id: number, ch: string, timeoutMs: number | undefined, stuck: () => void): void {
    const timer = timeoutMs === undefined ? undefined : this.platform.setTimeout(() => {
      if (this.#pending.delete(id)) stuck();
    }, timeoutMs);
    this.#pending.set(id, { ch, timer });
  }

  /** The channel of sub request `id` (undefined when `id` is not one), which is answered now. */
  answered(id: number | undefined): string | undefined {
    const p = id === undefined ? undefined : this.#pending.get(id);
    if (!p) return undefined;
    this.#pending.delete(id!);
    if (p.timer !== undefined) this.platform.clearTimeout(p.timer);
    return p.ch;
  }

  /** The connection ended: its requests will never be answered. */
  clear(): void {
    for (const p of this.#pending.values()) if (p.timer !== undefined) this.platform.clearTimeout(p.timer);
    this.#pending.clear();
  }
}
