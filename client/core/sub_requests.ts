import { Backoff } from "./backoff.ts";
import type { Platform } from "./platform.ts";

/**
 * The `sub` requests of the open connection that await their `subbed`, by request id. A WebSocket
 * `subbed` carries the id; one with no answer within the timeout means the connection (or the
 * node behind it) is stuck, and `stuck` is called: the client then drops the connection and
 * resumes elsewhere, as PROTOCOL.md's "Resume" asks. HTTP streams answer by channel and have
 * their own request timeouts, so their subscriptions are tracked without a timer. A `sub` refused
 * with the `retry` rule (the channel moving between nodes) is sent again after a per-channel backoff.
 */
export class SubRequests {
  readonly #pending = new Map<number, { ch: string; timer: unknown }>();
  readonly #retries = new Map<string, { backoff: Backoff; timer: unknown }>();

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

  /** `ch` is subscribed: the next refusal waits the shortest time again. */
  confirmed(ch: string): void {
    this.#retries.get(ch)?.backoff.reset();
  }

  /** Calls `again` after the channel's next backoff delay (unless `clear` comes first). */
  retryLater(ch: string, again: () => void): void {
    let r = this.#retries.get(ch);
    if (!r) this.#retries.set(ch, (r = { backoff: new Backoff({ baseMs: 100, maxMs: 5_000 }, this.platform.random), timer: undefined }));
    if (r.timer !== undefined) this.platform.clearTimeout(r.timer);
    r.timer = this.platform.setTimeout(() => {
      r.timer = undefined;
      again();
    }, r.backoff.next() ?? 0);
  }

  /** The connection ended: its requests will never be answered, and a new one subscribes anew. */
  clear(): void {
    for (const p of this.#pending.values()) if (p.timer !== undefined) this.platform.clearTimeout(p.timer);
    this.#pending.clear();
    for (const r of this.#retries.values()) if (r.timer !== undefined) this.platform.clearTimeout(r.timer);
    this.#retries.clear();
  }
}
