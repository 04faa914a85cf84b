import { parseActorId } from "../runtime/core/actor_id.ts";
import type { ActorContext } from "../runtime/core/actor.ts";
import { FencedError } from "../runtime/core/errors.ts";
import type { JournalEntry, SnapshotEvent } from "../storage/store.ts";
import { type ChannelState, emptyChannel } from "./channel_state.ts";
import { type CarriedFanout, ChannelFanout } from "./channel_fanout.ts";
import type { ChannelActorOptions } from "./channel_options.ts";
import { ChannelReader } from "./channel_reader.ts";
import type { EdgeEvent } from "./messages.ts";
import { notices } from "./message_view.ts";
import { Presence } from "./presence.ts";
import { RecentHistory } from "./recent_history.ts";

/** What a new activation of the channel takes over from the one before it (see `ChannelActor.carryOver`). */
export type CarriedChannel = CarriedFanout & { presence: Presence };

/**
 * The state of one channel activation that its parts (the writer, the commands, the trimmer)
 * share: its metadata, the bounds of its journal, what it holds in memory, its subscribers and
 * who is online. Only the actor's mailbox turn touches it, so no part sees another's write half done.
 */
export class ChannelCore {
  readonly ctx: ActorContext;
  readonly opts: ChannelActorOptions;
  readonly name: string;
  readonly fanout: ChannelFanout;
  presence: Presence;
  state: ChannelState;
  last = 0;
  /** The first seq the journal holds (or `last + 1` when it holds none): retention trims below it. */
  first = 1;
  history: RecentHistory;
  reader: ChannelReader;

  constructor(ctx: ActorContext, opts: ChannelActorOptions, carried: CarriedChannel | undefined) {
    this.ctx = ctx;
    this.opts = opts;
    this.name = parseActorId(ctx.self).key;
    this.state = emptyChannel(this.name);
    this.history = new RecentHistory(opts.historySize, opts.dedupeWindow);
    this.reader = new ChannelReader(ctx, this.history, this.name);
    this.fanout = new ChannelFanout(ctx, this.name, carried);
    this.presence = carried?.presence ?? new Presence();
  }

  /** Forgets every message held in memory (a dropped channel starts empty). */
  forgetHistory(): void {
    this.history = new RecentHistory(this.opts.historySize, this.opts.dedupeWindow);
    this.reader = new ChannelReader(this.ctx, this.history, this.name);
  }

  emit(event: EdgeEvent): void {
    this.fanout.emit(event);
  }

  /** Messages for a user's attention reach all of their connections, subscribed or not, through their session. */
  notify(entries: readonly JournalEntry[]): void {
    for (const n of notices(this.state, entries)) this.ctx.tell(`session:${n.user}`, n.msg);
  }

  /** Saves the state, with the webhook events of the change that made it (written together or not at all). */
  async saveSnapshot(events: Array<Pick<SnapshotEvent, "type" | "payload">> = []): Promise<void> {
    const at = this.ctx.clock.now();
    const snapshot = { seq: this.last, state: this.state, ...(events.length > 0 ? { events: events.map((e) => ({ ...e, afterSeq: this.last, at })) } : {}) };
    const ok = await this.ctx.store.saveSnapshot(this.ctx.self, this.ctx.epoch, snapshot);
    if (!ok) throw new FencedError(`Channel ${this.name}: snapshot fenced at epoch ${this.ctx.epoch}`);
  }

  /** Only the current activation may register subscribers: a stale one would serve a dead stream. */
  async requireCurrentEpoch(): Promise<void> {
    const current = await this.ctx.store.currentEpoch(this.ctx.self);
    if (current?.epoch !== this.ctx.epoch) {
      throw new FencedError(`Channel ${this.name}: activation epoch ${this.ctx.epoch} is no longer current (${current?.epoch})`);
    }
  }
}
