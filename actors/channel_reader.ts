import type { ActorContext } from "../runtime/core/actor.ts";
import { RejectedError } from "../runtime/core/errors.ts";
import type { JournalEntry } from "../storage/store.ts";
import type { HistoryReply, SubscribeReply, ViewEntry } from "./messages.ts";
import { currentView, viewTargets } from "./message_view.ts";
import type { RecentHistory } from "./recent_history.ts";

/**
 * The read side of a channel actor: pages of its journal from memory when held, else from the
 * store, never silently partial (G4); and messages in their current version. It reads only
 * committed entries, and the actor calls it between its writes, so what it reads is consistent.
 */
export class ChannelReader {
  constructor(
    private readonly ctx: ActorContext,
    private readonly history: RecentHistory,
    private readonly name: string,
  ) {}

  /** The committed entry at `seq`, from memory or the store; undefined when out of range or trimmed. */
  async entryAt(seq: number, last: number): Promise<JournalEntry | undefined> {
    if (!Number.isSafeInteger(seq) || seq < 1 || seq > last) return undefined;
    const held = seq >= this.history.firstSeq(last) ? this.history.after(seq - 1, 1) : await this.ctx.store.readAfter(this.ctx.self, seq - 1, 1);
    return held[0]?.seq === seq ? held[0] : undefined;
  }

  /** Entries in their current version: one read of the entries referring to the page's messages. */
  async currentView(entries: readonly JournalEntry[]): Promise<ViewEntry[]> {
    const targets = viewTargets(entries);
    return currentView(entries, targets.length > 0 ? await this.ctx.store.readRefs(this.ctx.self, targets) : []);
  }

  /** A thread: its root, then its replies after `after` (at most `limit`), in their current version. */
  async thread(root: number, after: number, limit: number, last: number): Promise<HistoryReply> {
    const head = await this.entryAt(root, last);
    if (!head || head.kind !== undefined || head.ref !== undefined) throw new RejectedError("not_found", `No thread at seq ${root} in "${this.name}"`);
    const replies = (await this.ctx.store.readRefs(this.ctx.self, [root])).filter((e) => e.kind === undefined && e.seq > after);
    const page = replies.slice(0, limit);
    const msgs = await this.currentView(after < root ? [head, ...page] : page);
    return { msgs, last, first: root, more: replies.length > limit, truncated: false };
  }

  /**
   * Entries after `after`, as journaled: from memory when held, else from the store; never
   * silently partial (G4). `first` is the first seq retention left (the trim floor + 1).
   */
  async page(after: number, limit: number, last: number, first: number): Promise<SubscribeReply> {
    const from = Math.max(0, Math.min(after, last));
    const msgs = from >= this.history.firstSeq(last) - 1 ? this.history.after(from, limit) : await this.ctx.store.readAfter(this.ctx.self, from, limit);
    const lastReturned = msgs.length > 0 ? msgs[msgs.length - 1]!.seq : from;
    return { last, msgs, more: lastReturned < last, truncated: from + 1 < first, first };
  }

  /** The `limit` entries before `before`, as journaled; `truncated` when the page reached a trimmed prefix (G4). */
  async pageBefore(before: number, limit: number, last: number, first: number): Promise<HistoryReply> {
    const { store, self } = this.ctx;
    const upto = Math.min(before, last + 1);
    const memFirst = this.history.firstSeq(last);
    const msgs = upto - limit >= memFirst ? this.history.before(upto, limit) : await store.readBefore(self, upto, limit);
    const top = msgs.length > 0 ? msgs[0]!.seq : upto;
    return { msgs, last, first: top, more: top > first, truncated: top <= first && first > 1 };
  }
}
