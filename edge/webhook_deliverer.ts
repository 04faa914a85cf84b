import type { Store } from "../storage/store.ts";
import type { WebhookCursor, WebhookRecord, WebhookStore } from "../storage/webhook_store.ts";
import { channelActor } from "./gateway.ts";
import { type WebhookItem, webhookItems } from "./webhook_events.ts";
import { SIGNATURE_HEADER, signWebhook } from "./webhook_signature.ts";

export interface WebhookDelivererOptions {
  store: Store & WebhookStore;
  /** This node's id: the owner name of the leases it takes. */
  nodeId: string;
  /** How often endpoints are looked at for new events. */
  pollMs: number;
  /** How long a lease lasts unrenewed; renewed at a third of it. */
  leaseMs: number;
  /** The first retry waits about this long; each failure doubles it, up to `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  now?: () => number;
  random?: () => number;
  log?: (line: string) => void;
}

/** Journal entries (and channel events) read per channel per round. */
const BATCH = 100;
/** Channel events are kept this long: a receiver down for longer loses membership and presence events. */
export const CHANNEL_EVENT_TTL_MS = 24 * 3_600_000;

interface Retry {
  attempts: number;
  nextAt: number;
  lastError: string;
}

/**
 * Delivers webhooks from the store: each endpoint is delivered by the one node holding its lease
 * (a conditional row update in the store, as epochs are), which reads each of the endpoint's
 * channels from its position (journal entries, then channel events), POSTs one signed event at
 * a time in order, and moves the position after each 2xx answer. So delivery is at least once
 * (a crash between an answer and the position's write, or a lease lost mid-request, repeats one
 * event; the `storm-event-id` header lets a receiver drop it) and in order per channel; channels
 * of an endpoint do not wait for each other. A failure (non-2xx, no answer within the endpoint's
 * timeout, no connection) is retried after an exponential backoff with jitter. An endpoint whose
 * undelivered journal entries in a channel pass its `maxBacklog` loses the oldest of them, and a
 * dead letter records which.
 */
export class WebhookDeliverer {
  readonly #o: WebhookDelivererOptions;
  readonly #now: () => number;
  readonly #random: () => number;
  #hooks: WebhookRecord[] = [];
  readonly #leases = new Map<string, number>();
  readonly #cursors = new Map<string, WebhookCursor>();
  readonly #retries = new Map<string, Retry>();
  /** The channel pumps running, by `<endpoint> <channel>`: one at a time each, none waiting for another. */
  readonly #pumps = new Map<string, Promise<void>>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #nextPrune = 0;
  #round: Promise<void> = Promise.resolve();

  constructor(o: WebhookDelivererOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#random = o.random ?? Math.random;
  }

  start(): void {
    const tick = () => {
      if (this.#stopped) return;
      this.#round = this.#tick().catch((err: unknown) => this.#o.log?.(`webhooks: ${err instanceof Error ? err.message : String(err)}`));
      void this.#round.then(() => {
        if (!this.#stopped) this.#timer = setTimeout(tick, this.#o.pollMs);
      });
    };
    tick();
  }

  /** Stops polling; a delivery in flight finishes (its position is written or, on error, not). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#round;
    await Promise.all(this.#pumps.values());
  }

  async #tick(): Promise<void> {
    const now = this.#now();
    this.#hooks = await this.#o.store.listWebhooks();
    if (now >= this.#nextPrune) {
      this.#nextPrune = now + 60_000;
      await this.#o.store.pruneChannelEvents(now - CHANNEL_EVENT_TTL_MS);
    }
    for (const hook of this.#hooks) {
      if (!(await this.#holds(hook.id, now))) continue;
      for (const ch of hook.channels) {
        const key = `${hook.id} ${ch}`;
        if (this.#pumps.has(key) || (this.#retries.get(key)?.nextAt ?? 0) > now) continue;
        const pump = this.#pump(hook, ch, key)
          .catch((err: unknown) => this.#o.log?.(`webhooks: ${key}: ${err instanceof Error ? err.message : String(err)}`))
          .finally(() => this.#pumps.delete(key));
        this.#pumps.set(key, pump);
      }
    }
  }

  /** Whether this node holds the endpoint's lease, renewing it at a third of its length. */
  async #holds(id: string, now: number): Promise<boolean> {
    const until = this.#leases.get(id);
    if (until !== undefined && now < until - (this.#o.leaseMs * 2) / 3) return true;
    const held = await this.#o.store.claimWebhook(id, this.#o.nodeId, now, now + this.#o.leaseMs);
    if (held) this.#leases.set(id, now + this.#o.leaseMs);
    else {
      // Another node delivers it: forget what this node knew of its positions.
      this.#leases.delete(id);
      for (const k of [...this.#cursors.keys()]) if (k.startsWith(`${id} `)) this.#cursors.delete(k);
    }
    return held;
  }

  /** Delivers one channel of one endpoint until it is caught up, fails, or loses the lease. */
  async #pump(hook: WebhookRecord, ch: string, key: string): Promise<void> {
    const { store } = this.#o;
    const actor = channelActor(ch);
    for (;;) {
      let from = this.#cursors.get(key) ?? (await store.webhookCursor(hook.id, actor));
      const entries = await store.readAfter(actor, from.seq, BATCH);
      const events = await store.channelEvents(actor, from.n, BATCH);
      const first = entries[0]?.seq;
      if (first !== undefined && first > from.seq + 1) {
        // Retention removed entries this endpoint had not received.
        from = await this.#skip(hook, ch, from, { seq: first - 1, n: from.n }, "trimmed", "removed by retention before delivery");
      }
      const items = webhookItems(ch, from, entries, events);
      if (items.length === 0) return void this.#cursors.set(key, from);
      let skipped: WebhookCursor | undefined;
      for (const item of items) {
        if (!hook.events.includes(item.type)) {
          skipped = item.to;
          continue;
        }
        const error = await this.#post(hook, item);
        if (error !== undefined) {
          if (skipped) await this.#advance(hook, ch, key, skipped);
          return this.#failed(hook, ch, key, error);
        }
        if (!(await this.#advance(hook, ch, key, item.to))) return;
        skipped = undefined;
      }
      if (skipped && !(await this.#advance(hook, ch, key, skipped))) return;
      this.#retries.delete(key);
      if (entries.length < BATCH && events.length < BATCH) return;
    }
  }

  /** POSTs one event; undefined on a 2xx answer, else what went wrong. */
  async #post(hook: WebhookRecord, item: WebhookItem): Promise<string | undefined> {
    const body = JSON.stringify({ id: item.id, type: item.type, ...item.payload });
    try {
      const res = await fetch(hook.url, {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          [SIGNATURE_HEADER]: signWebhook(hook.secret, this.#now(), body),
          "storm-event-id": item.id,
          "storm-webhook-id": hook.id,
        },
        signal: AbortSignal.timeout(hook.timeoutMs),
        redirect: "manual",
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.status >= 200 && res.status < 300 ? undefined : `HTTP ${res.status}`;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      return e.name === "TimeoutError" ? `no answer within ${hook.timeoutMs} ms` : `${e.cause?.code ?? e.name}: ${e.message}`;
    }
  }

  async #advance(hook: WebhookRecord, ch: string, key: string, to: WebhookCursor): Promise<boolean> {
    if (await this.#o.store.advanceWebhook(hook.id, this.#o.nodeId, channelActor(ch), to)) {
      this.#cursors.set(key, to);
      return true;
    }
    // The lease went to another node: it resumes from the stored position.
    this.#leases.delete(hook.id);
    this.#cursors.delete(key);
    return false;
  }

  /** Schedules the retry (exponential backoff, equal jitter); past the backlog bound, the oldest entries become a dead letter. */
  async #failed(hook: WebhookRecord, ch: string, key: string, error: string): Promise<void> {
    const attempts = (this.#retries.get(key)?.attempts ?? 0) + 1;
    const backoff = Math.min(this.#o.retryMaxMs, this.#o.retryBaseMs * 2 ** Math.min(attempts - 1, 30));
    this.#retries.set(key, { attempts, nextAt: this.#now() + backoff / 2 + this.#random() * (backoff / 2), lastError: error });
    const from = this.#cursors.get(key)!;
    const { last } = await this.#o.store.bounds(channelActor(ch));
    if (last - from.seq > hook.maxBacklog) await this.#skip(hook, ch, from, { seq: last - hook.maxBacklog, n: from.n }, "backlog", error);
  }

  /** Moves past (from, to] without delivering it, and records a dead letter for it. */
  async #skip(hook: WebhookRecord, ch: string, from: WebhookCursor, to: WebhookCursor, reason: "backlog" | "trimmed", lastError: string): Promise<WebhookCursor> {
    // Channel events placed in the skipped range go with it.
    const events = (await this.#o.store.channelEvents(channelActor(ch), from.n, BATCH * 10)).filter((e) => e.afterSeq < to.seq);
    const target = { seq: to.seq, n: events.length > 0 ? events[events.length - 1]!.n : from.n };
    await this.#o.store.recordDeadLetter({
      webhookId: hook.id, channel: ch, from: `${ch}:${from.seq + 1}`, to: `${ch}:${to.seq}`, count: to.seq - from.seq + events.length, reason, lastError,
    });
    await this.#advance(hook, ch, `${hook.id} ${ch}`, target);
    this.#o.log?.(`webhooks: ${hook.id} ${ch}: ${to.seq - from.seq} entries dead-lettered (${reason})`);
    return target;
  }
}
