/** One event of a user's sync queue, in the shape of seed 004's messages. */
export interface SyncItem {
  /** Position in the user's queue: 1, 2, 3, ... with no gap (what a cursor names). */
  n: number;
  id: string;
  type: string;
  payload: unknown;
  timestamp: number;
  /** Who caused the event (the sender, the admin of a broadcast, the user themself). */
  userId: string;
  correlationId?: string;
  topics?: string[];
}

export interface SyncQueueState {
  items: SyncItem[];
  /** The `n` of the last item ever added. */
  last: number;
  /** Items that fell off (overflow or age), and the newest timestamp among them. */
  evicted: number;
  evictedTs: number;
}

export interface SyncQueueLimits {
  maxEvents: number;
  maxAgeMs: number;
}

export interface SyncRead {
  items: SyncItem[];
  last: number;
  /** Events past the position that fell off the bound before this read: never silent. */
  dropped: number;
}

export const EMPTY_QUEUE: SyncQueueState = Object.freeze({ items: Object.freeze([]) as unknown as SyncItem[], last: 0, evicted: 0, evictedTs: 0 });

/**
 * A user's bounded event queue (seed 004's polling queue), as immutable state: every change makes
 * a new value, which the session actor snapshots before acknowledging (durable, any node). Bounded
 * by count and age; what falls off is counted, and a read past it says how much it missed.
 */
export const syncQueue = {
  push(q: SyncQueueState, item: Omit<SyncItem, "n" | "id">, now: number, limits: SyncQueueLimits): [SyncQueueState, SyncItem] {
    const n = q.last + 1;
    const added: SyncItem = { ...item, n, id: `q${n}` };
    return [syncQueue.expire({ ...q, items: [...q.items, added], last: n }, now, limits), added];
  },

  /** Drops items over the count bound or older than the age bound. */
  expire(q: SyncQueueState, now: number, limits: SyncQueueLimits): SyncQueueState {
    let cut = Math.max(0, q.items.length - limits.maxEvents);
    while (cut < q.items.length && q.items[cut]!.timestamp < now - limits.maxAgeMs) cut++;
    if (cut === 0) return q;
    const gone = q.items.slice(0, cut);
    return { ...q, items: q.items.slice(cut), evicted: q.evicted + cut, evictedTs: Math.max(q.evictedTs, gone[gone.length - 1]!.timestamp) };
  },

  /** Items after position `after` (a cursor). */
  afterPosition(q: SyncQueueState, after: number): SyncRead {
    const first = q.items[0]?.n ?? q.last + 1;
    return { items: q.items.filter((i) => i.n > after), last: q.last, dropped: Math.max(0, first - 1 - after) };
  },

  /**
   * Items newer than a millisecond timestamp (the seed's `since`). `dropped` is then an upper
   * bound: every evicted item when one of them was at least as new as `since`.
   */
  since(q: SyncQueueState, ts: number): SyncRead {
    return { items: q.items.filter((i) => i.timestamp > ts), last: q.last, dropped: q.evictedTs > ts ? q.evicted : 0 };
  },
};
