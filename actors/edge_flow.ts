/**
 * Flow control between a channel actor and the edges it fans out to. Each edge reports how far it
 * has handed batches to its sockets (`delivered`); the actor holds new work while some edge has had
 * a batch outstanding for longer than `maxLagMs`, so publishers' acks slow down to the speed at
 * which edges deliver, instead of a backlog growing between threads and nodes (G6). An edge that
 * stays behind past `dropAfterMs` is dropped, and told so: its sockets resubscribe from their cursors
 * and page what they missed (G4).
 */
export class EdgeFlow {
  readonly #edges = new Map<string, { sent: number; acked: number; since: number }>();

  constructor(
    readonly maxLagMs: number,
    readonly dropAfterMs: number,
  ) {}

  sent(edge: string, seq: number, now: number): void {
    const e = this.#edges.get(edge);
    if (!e) this.#edges.set(edge, { sent: seq, acked: seq - 1, since: now });
    else {
      if (e.acked >= e.sent) e.since = now;
      e.sent = seq;
    }
  }

  delivered(edge: string, seq: number, now: number): void {
    const e = this.#edges.get(edge);
    if (!e || seq <= e.acked) return;
    e.acked = seq;
    // The oldest outstanding batch is now younger: restart its clock at this acknowledgement.
    if (e.acked < e.sent) e.since = now;
  }

  forget(edge: string): void {
    this.#edges.delete(edge);
  }

  /** True while some edge has had a batch outstanding for longer than `maxLagMs`. */
  holding(now: number): boolean {
    for (const e of this.#edges.values()) if (e.acked < e.sent && now - e.since > this.maxLagMs) return true;
    return false;
  }

  /** Edges behind for longer than `dropAfterMs`. */
  laggards(now: number): string[] {
    return [...this.#edges].filter(([, e]) => e.acked < e.sent && now - e.since > this.dropAfterMs).map(([edge]) => edge);
  }
}
