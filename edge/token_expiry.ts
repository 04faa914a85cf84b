import type { Clock, Timer } from "../runtime/core/clock.ts";
import type { Connection } from "./connection.ts";

/** How long before its token expires a connection is told to re-authenticate (at most). */
export const REAUTH_NOTICE_MS = 30_000;

/** When to send the `reauth` notice for a token expiring at `exp`, authenticated at `now`: 30 s before, or half-way for shorter tokens. */
export function reauthAt(exp: number, now: number): number {
  return exp - Math.min(REAUTH_NOTICE_MS, Math.max(0, (exp - now) / 2));
}

/**
 * The token lifetime of open connections. Each connection waits in the time slot of its next due
 * moment: first the `reauth` notice, then the expiry itself. One timer serves every connection and
 * each tick visits only the slots that came due, so 100,000 idle connections cost no timer each.
 */
export class TokenExpiry {
  readonly #slots = new Map<number, Set<Connection>>();
  readonly #timer: Timer;
  #next: number;

  constructor(
    private readonly clock: Clock,
    private readonly on: { notice(conn: Connection): void; expired(conn: Connection): void },
    private readonly tickMs = 250,
  ) {
    this.#next = this.#slotOf(clock.now());
    this.#timer = clock.setInterval(() => this.#tick(), tickMs);
  }

  /** (Re)schedules a connection for its current token: a new token restarts the notice. */
  track(conn: Connection): void {
    this.untrack(conn);
    conn.reauthSent = false;
    this.#place(conn, reauthAt(conn.principal.exp, this.clock.now()));
  }

  untrack(conn: Connection): void {
    const set = this.#slots.get(conn.expirySlot);
    if (set?.delete(conn) && set.size === 0) this.#slots.delete(conn.expirySlot);
  }

  close(): void {
    this.#timer.cancel();
    this.#slots.clear();
  }

  #place(conn: Connection, at: number): void {
    // Never a slot already visited: a due time in the past is handled at the next tick.
    const slot = Math.max(this.#slotOf(at), this.#next);
    conn.expirySlot = slot;
    let set = this.#slots.get(slot);
    if (!set) this.#slots.set(slot, (set = new Set()));
    set.add(conn);
  }

  #slotOf(ms: number): number {
    return Math.ceil(ms / this.tickMs);
  }

  #tick(): void {
    const now = this.clock.now();
    const last = this.#slotOf(now);
    // After a long stall (a paused process) walk the occupied slots rather than every empty one.
    const from = this.#next;
    const due = last - from > 10_000 ? [...this.#slots.keys()].filter((s) => s <= last).sort((a, b) => a - b) : undefined;
    const visit = (slot: number) => {
      const set = this.#slots.get(slot);
      if (!set) return;
      this.#slots.delete(slot);
      for (const conn of set) {
        if (conn.closed) continue;
        if (now >= conn.principal.exp) this.on.expired(conn);
        else if (!conn.reauthSent) {
          conn.reauthSent = true;
          this.on.notice(conn);
          this.#place(conn, conn.principal.exp);
        } else this.#place(conn, conn.principal.exp);
      }
    };
    // Reschedules land after this tick's slots.
    this.#next = last + 1;
    if (due) due.forEach(visit);
    else for (let s = from; s <= last; s++) visit(s);
  }
}
