import { errorFromServer, ReconnectError, RetryableError, type StormClientError } from "./errors.ts";
import type { Platform } from "./platform.ts";
import type { ServerFrame } from "./protocol.ts";
import type { Transport } from "./transport.ts";

interface Pending {
  resolve(f: ServerFrame): void;
  reject(e: StormClientError): void;
  timer: unknown;
  transport: Transport;
}

/**
 * Request ids and their replies. Each request frame gets exactly one reply with its id (PROTOCOL.md
 * "Framing"), in any order; a reply that is an `err` rejects with the typed error of its code. A
 * request whose transport goes away is rejected with `disconnected` (a `ReconnectError`): its
 * outcome is unknown, which a publish survives by its client id.
 */
export class Requests {
  readonly #pending = new Map<number, Pending>();
  #next = 1;

  constructor(private readonly platform: Platform) {}

  nextId(): number {
    const id = this.#next;
    this.#next = this.#next >= 2 ** 31 ? 1 : this.#next + 1;
    return id;
  }

  /** Resolves with the reply to `id`, sent on `transport`; rejects after `timeoutMs` with `request_timeout`. */
  track(id: number, transport: Transport, timeoutMs: number): Promise<ServerFrame> {
    return new Promise((resolve, reject) => {
      const timer = this.platform.setTimeout(() => {
        this.#pending.delete(id);
        reject(new RetryableError("request_timeout", `No reply to request ${id} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer, transport });
    });
  }

  /** Settles the request a reply frame answers; false when the frame answers none. */
  answer(f: ServerFrame): boolean {
    const id = "id" in f ? f.id : undefined;
    if (id === undefined || f.t === "subbed") return false;
    const p = this.#pending.get(id);
    if (!p) return false;
    this.#pending.delete(id);
    this.platform.clearTimeout(p.timer);
    if (f.t === "err") p.reject(errorFromServer(f.code, f.message, f.retry));
    else p.resolve(f);
    return true;
  }

  /** Rejects every request sent on `transport` (or on any, when omitted). */
  failAll(transport: Transport | undefined, err: StormClientError = new ReconnectError("disconnected", "The connection closed before the reply")): void {
    for (const [id, p] of this.#pending) {
      if (transport !== undefined && p.transport !== transport) continue;
      this.#pending.delete(id);
      this.platform.clearTimeout(p.timer);
      p.reject(err);
    }
  }
}
