import type { WireStoreError } from "./errors.ts";
import type { Store } from "./store.ts";
import type { UserDataStore } from "./user_data_store.ts";
import type { ApiKeyStore } from "./api_key_store.ts";
import type { WebhookStore } from "./webhook_store.ts";

/**
 * The wire format between `PortStore` (actor workers) and `serveStore` (the storage worker).
 * Every message is an array: a side sends all the requests, or replies, of one tick in one
 * `postMessage`. Values cross by structured clone, which keeps `Map`s.
 */

/** The minimal port both sides need; `node:worker_threads` `MessagePort` satisfies it. */
export interface StorePort {
  postMessage(value: unknown): void;
  on(event: "message", listener: (value: unknown) => void): void;
}

/** `commitStats` is local to the thread that runs the group commit: it is not served over a port. */
export type StoreOp = Exclude<keyof Store, "close" | "commitStats"> | keyof UserDataStore | keyof ApiKeyStore | keyof WebhookStore;

/** Every operation a port may request; a `Record` so the compiler flags one missing from `Store`. */
const OPS: Record<StoreOp, true> = {
  acquireEpoch: true,
  acquireEpochGrant: true,
  currentEpoch: true,
  append: true,
  readAfter: true,
  readBefore: true,
  bounds: true,
  findClientIds: true,
  trim: true,
  eraseSender: true,
  saveSnapshot: true,
  loadSnapshot: true,
  listSnapshots: true,
  userMessages: true,
  userChannels: true,
  memberships: true,
  sessionsMentioning: true,
  dropActors: true,
  recordAudit: true,
  listAudit: true,
  createKey: true,
  listKeys: true,
  revokeKey: true,
  findKey: true,
  revokeTokens: true,
  listRevocations: true,
  readRefs: true,
  unread: true,
  search: true,
  createWebhook: true,
  listWebhooks: true,
  deleteWebhook: true,
  claimWebhook: true,
  webhookCursor: true,
  advanceWebhook: true,
  channelEvents: true,
  pruneChannelEvents: true,
  recordDeadLetter: true,
  listDeadLetters: true,
};

export function isStoreOp(op: unknown): op is StoreOp {
  return typeof op === "string" && Object.hasOwn(OPS, op);
}

export interface StoreRequest {
  id: number;
  op: StoreOp;
  args: unknown[];
}

export type StoreReply = { id: number; value: unknown } | { id: number; error: WireStoreError };

/**
 * Collects values posted in one tick and sends them as one array on the next microtask: many
 * small messages would each pay a thread hop.
 */
export class TickBatcher {
  readonly #port: StorePort;
  #pending: unknown[] = [];

  constructor(port: StorePort) {
    this.#port = port;
  }

  push(value: unknown): void {
    if (this.#pending.length === 0) queueMicrotask(() => this.#flush());
    this.#pending.push(value);
  }

  #flush(): void {
    const batch = this.#pending;
    this.#pending = [];
    this.#port.postMessage(batch);
  }
}
