import { AskTimeoutError, fromWireError, type WireError } from "./errors.ts";

interface Entry<W> {
  resolve(v: unknown): void;
  reject(e: Error): void;
  deadline: number;
  to: string;
  /** Where the request went (a worker index, a node id): lets a dying destination fail its asks. */
  where: W;
}

/**
 * Asks awaiting a reply across a hop (thread or node). Every ask is settled exactly once: by its
 * reply, by its destination dying, or by its deadline (one sweep for all, no timer per ask).
 */
export class PendingAsks<W> {
  readonly #asks = new Map<number, Entry<W>>();
  #next = 1;

  add(to: string, where: W, deadline: number, resolve: (v: unknown) => void, reject: (e: Error) => void): number {
    const reqId = this.#next++;
    this.#asks.set(reqId, { resolve, reject, deadline, to, where });
    return reqId;
  }

  settle(reqId: number, ok: boolean, value: unknown): void {
    const p = this.#asks.get(reqId);
    if (!p) return;
    this.#asks.delete(reqId);
    if (ok) p.resolve(value);
    else p.reject(fromWireError(value as WireError));
  }

  fail(reqId: number, err: Error): void {
    const p = this.#asks.get(reqId);
    this.#asks.delete(reqId);
    p?.reject(err);
  }

  /** Fails the asks whose destination matches (it died: no reply will ever come). */
  failWhere(match: (where: W) => boolean, err: (to: string, where: W) => Error): void {
    for (const [id, p] of this.#asks) {
      if (!match(p.where)) continue;
      this.#asks.delete(id);
      p.reject(err(p.to, p.where));
    }
  }

  expire(now: number): void {
    for (const [id, p] of this.#asks) {
      if (p.deadline > now) continue;
      this.#asks.delete(id);
      p.reject(new AskTimeoutError(`No reply from ${p.to} within the deadline`));
    }
  }
}
