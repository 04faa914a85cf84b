import { isTombstone, type JournalEntry } from "../storage/store.ts";
import type { ChannelEvent, WebhookCursor, WebhookEventType } from "../storage/webhook_store.ts";

/** One event of a channel in delivery order, with the position an endpoint reaches once it is acknowledged. */
export interface WebhookItem {
  /** The idempotency key: `<channel>:<seq>` for a journal entry, `<channel>:<seq>:e<n>` for a channel event after seq. */
  id: string;
  type: WebhookEventType;
  to: WebhookCursor;
  payload: Record<string, unknown>;
}

/**
 * A channel's next events, in delivery order: journal entries after `from.seq`, and channel
 * events after `from.n`, each event placed after the journal seq it was saved at. `entries` must
 * have been read before `events`: an event saved in between is then placed after every entry
 * read, and an event placed past the last entry read waits for the next round (its entries come
 * first), so no entry is ever passed over.
 */
export function webhookItems(channel: string, from: WebhookCursor, entries: readonly JournalEntry[], events: readonly ChannelEvent[]): WebhookItem[] {
  const lastSeq = entries.length > 0 ? entries[entries.length - 1]!.seq : from.seq;
  const out: Array<WebhookItem & { order: [number, number, number] }> = [];
  let n = from.n;
  for (const e of entries) out.push({ ...entryItem(channel, e), order: [e.seq, 0, 0] } as WebhookItem & { order: [number, number, number] });
  for (const ev of events) {
    if (ev.afterSeq > lastSeq) break;
    out.push({ id: `${channel}:${ev.afterSeq}:e${ev.n}`, type: ev.type, to: { seq: 0, n: ev.n }, payload: { channel, afterSeq: ev.afterSeq, ts: ev.at, ...ev.payload }, order: [ev.afterSeq, 1, ev.n] });
  }
  out.sort((a, b) => a.order[0] - b.order[0] || a.order[1] - b.order[1] || a.order[2] - b.order[2]);
  // Each item's position: through its seq, and through the last event delivered before it.
  let seq = from.seq;
  return out.map(({ order, ...item }) => {
    if (order[1] === 0) seq = order[0];
    else n = order[2];
    return { ...item, to: { seq, n } };
  });
}

function entryItem(channel: string, e: JournalEntry): Omit<WebhookItem, "to"> {
  const base = { channel, seq: e.seq, ts: e.ts, from: e.sender, ...(isTombstone(e) ? { erased: true } : {}) };
  const id = `${channel}:${e.seq}`;
  switch (e.kind ?? "msg") {
    case "msg":
      return { id, type: "message", payload: { ...base, cid: isTombstone(e) ? "" : e.clientId, body: e.body, ...(e.ref !== undefined ? { parent: e.ref } : {}) } };
    case "edit":
      return { id, type: "edit", payload: { ...base, ref: e.ref, body: e.body } };
    case "delete":
      return { id, type: "delete", payload: { ...base, ref: e.ref } };
    default:
      return { id, type: "reaction", payload: { ...base, ref: e.ref, emoji: e.body, added: e.kind === "react" } };
  }
}
