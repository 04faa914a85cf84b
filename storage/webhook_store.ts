/**
 * Webhooks as stored: the endpoints, each one's delivery position per channel, the lease that
 * makes one node its deliverer, the channel events that are not journal entries (membership,
 * presence), and the dead letters. Used from the main thread (the deliverer, the server API).
 *
 * What delivery rests on: the journal is the outbox of message events (an entry is its own event,
 * committed once, G2), and `channel_events` the outbox of the others, written by the channel
 * actor in the same statement as the snapshot that makes the change (fenced by the epoch, G5). A
 * position only moves forward, and only by the endpoint's lease holder; so after any crash the
 * next holder resumes from the last acknowledged event (at least once, in order per channel).
 */
export interface WebhookStore {
  createWebhook(w: WebhookInput): Promise<WebhookRecord>;
  listWebhooks(): Promise<WebhookRecord[]>;
  /** Deletes the endpoint with its positions and dead letters; false when unknown. */
  deleteWebhook(id: string): Promise<boolean>;
  /**
   * Takes (or renews) the delivery lease of an endpoint for `owner` until `until` (ms): granted
   * when free, expired at `now`, or already `owner`'s. Returns whether `owner` holds it.
   */
  claimWebhook(id: string, owner: string, now: number, until: number): Promise<boolean>;
  /** The endpoint's position in a channel (`{ seq: 0, n: 0 }` before its first delivery). */
  webhookCursor(id: string, actorId: string): Promise<WebhookCursor>;
  /** Moves the position forward (never back), if `owner` still holds the lease; false otherwise. */
  advanceWebhook(id: string, owner: string, actorId: string, to: WebhookCursor): Promise<boolean>;
  /** Channel events with `n > afterN`, ascending, at most `limit`. */
  channelEvents(actorId: string, afterN: number, limit: number): Promise<ChannelEvent[]>;
  /** Deletes channel events older than `before` (ms): they are kept for a bounded time. */
  pruneChannelEvents(before: number): Promise<number>;
  recordDeadLetter(d: DeadLetterInput): Promise<DeadLetter>;
  listDeadLetters(id: string, afterId: number, limit: number): Promise<DeadLetter[]>;
}

export type WebhookEventType = "message" | "edit" | "delete" | "reaction" | "membership" | "presence";

export const WEBHOOK_EVENT_TYPES: readonly WebhookEventType[] = ["message", "edit", "delete", "reaction", "membership", "presence"];

export interface WebhookInput {
  id: string;
  url: string;
  /** The HMAC-SHA256 key of the signatures; kept, since every delivery is signed with it. */
  secret: string;
  events: WebhookEventType[];
  /** Channel names (not actor ids). */
  channels: string[];
  /** Undelivered events kept per channel; past it, the oldest become a dead letter. */
  maxBacklog: number;
  /** One delivery attempt waits at most this long for the receiver's answer. */
  timeoutMs: number;
}

export interface WebhookRecord extends WebhookInput {
  createdAt: number;
}

/** Delivered through journal seq `seq` and channel event `n`. */
export interface WebhookCursor {
  seq: number;
  n: number;
}

/** A change that is not a journal entry, placed after journal seq `afterSeq` of its channel. */
export interface ChannelEvent {
  n: number;
  afterSeq: number;
  type: "membership" | "presence";
  payload: Record<string, unknown>;
  at: number;
}

export interface DeadLetterInput {
  webhookId: string;
  channel: string;
  /** The first and last skipped position, as event ids (`<channel>:<seq>` or `<channel>:<seq>:e<n>`). */
  from: string;
  to: string;
  count: number;
  /** `backlog` (past the bound) or `trimmed` (retention removed them first). */
  reason: "backlog" | "trimmed";
  lastError: string;
}

export interface DeadLetter extends DeadLetterInput {
  id: number;
  at: number;
}
