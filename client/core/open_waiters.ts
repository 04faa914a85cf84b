import { ReconnectError, type StormClientError } from "./errors.ts";
import type { Platform } from "./platform.ts";

/**
 * @internal Callers waiting for the session's connection to open (a `connect()`, a request sent
 * while reconnecting): all settled at once, resolved at the welcome or rejected with the reason the
 * client gave up (closed, attempts exhausted, no token).
 */
export class OpenWaiters {
  #waiters: Array<{ resolve(): void; reject(e: StormClientError): void }> = [];

  constructor(private readonly platform: Platform) {}

  /** Settles at the next open, or when the client gives up. */
  next(): Promise<void> {
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** As `next`, but rejects with `disconnected` when not open within `timeoutMs`. */
  within(timeoutMs: number): Promise<void> {
    const p = this.platform;
    return new Promise((resolve, reject) => {
      const timer = p.setTimeout(() => reject(new ReconnectError("disconnected", `Not connected within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push({ resolve: () => (p.clearTimeout(timer), resolve()), reject: (e) => (p.clearTimeout(timer), reject(e)) });
    });
  }

  /** Resolves every waiter (the connection is open), or rejects them all with `err`. */
  settle(err?: StormClientError): void {
    for (const w of this.#waiters.splice(0)) err ? w.reject(err) : w.resolve();
  }
}
