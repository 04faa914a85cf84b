import type { Actor, ActorContext, Envelope } from "../runtime/core/actor.ts";
import { RejectedError } from "../runtime/core/errors.ts";
import type { ChannelState } from "./channel_state.ts";
import { isChange } from "./change_rules.ts";
import { ChannelCommands, type CommandMsg } from "./channel_commands.ts";
import { type CarriedChannel, ChannelCore } from "./channel_core.ts";
import { type ChannelActorOptions, defaultChannelOptions } from "./channel_options.ts";
import { ChannelWriter } from "./channel_writer.ts";
import { JournalTrimmer } from "./journal_trimmer.ts";
import type { ChannelMsg } from "./messages.ts";
import { isModeration } from "./moderation.ts";
import type { Write } from "./write_batch.ts";

export { type ChannelActorOptions, defaultChannelOptions } from "./channel_options.ts";

/**
 * One channel. The single writer of its journal: it gives each accepted publish the next seq (G1),
 * acknowledges and fans it out only after the store committed it (G2), answers a retried client id
 * with its first seq (G3), and serves resume from memory or the store (G4). Every write carries the
 * activation's epoch, so a fenced activation commits nothing (G5).
 *
 * Publishes of one mailbox batch are committed together in one append (group commit); a message
 * that changes metadata first commits the publishes before it, so the batch keeps mailbox order.
 * Edits, deletes, reactions and thread replies are journal entries too (a kind and the seq they
 * refer to), each checked against the current state of the message it changes, then committed
 * like a publish: they get seqs, acks and fan-out under the same rules (G1-G4).
 *
 * The actor orders the work; its parts do it over one shared `ChannelCore`: the `ChannelFanout`
 * (subscribers and flow control), the `ChannelWriter` (journal writes), the `ChannelCommands`
 * (metadata) and the `JournalTrimmer` (retention).
 */
export class ChannelActor implements Actor {
  readonly #core: ChannelCore;
  readonly #writer: ChannelWriter;
  readonly #trimmer: JournalTrimmer;
  readonly #commands: ChannelCommands;

  constructor(ctx: ActorContext, opts: ChannelActorOptions = defaultChannelOptions) {
    this.#core = new ChannelCore(ctx, opts, ctx.carried as CarriedChannel | undefined);
    this.#writer = new ChannelWriter(this.#core);
    this.#trimmer = new JournalTrimmer(this.#core);
    this.#commands = new ChannelCommands(this.#core, this.#trimmer);
  }

  carryOver(): unknown {
    return { ...this.#core.fanout.carryOver(), presence: this.#core.presence } satisfies CarriedChannel;
  }

  async activate(): Promise<void> {
    const c = this.#core;
    const { store, self } = c.ctx;
    const snap = await store.loadSnapshot(self);
    if (snap) c.state = snap.state as ChannelState;
    // A journal trimmed to nothing reports last 0: the snapshot still knows how far seqs went.
    c.last = Math.max((await store.bounds(self)).last, snap?.seq ?? 0);
    const bounds = await store.bounds(self);
    c.first = bounds.first || c.last + 1;
    if (c.last > 0) c.history.push(await store.readBefore(self, c.last + 1, c.opts.historySize));
    this.#trimmer.armAgeCheck();
  }

  async receive(batch: readonly Envelope[]): Promise<void> {
    const work = this.#core.fanout.admit(batch);
    if (work.length > 0) await this.#process(work);
  }

  async #process(batch: readonly Envelope[]): Promise<void> {
    let pending: Write[] = [];
    for (const env of batch) {
      const msg = env.msg as ChannelMsg;
      if (msg.type === "publish" && msg.parent === undefined) {
        this.#writer.admitPublish(env as Envelope<typeof msg>, pending);
        continue;
      }
      // A presence change saved as a webhook event is placed after the seqs committed before it.
      const placed = needsCommittedState(msg) || (msg.type === "presence" && this.#core.state.hooks !== undefined);
      if (placed && pending.length > 0) {
        await this.#writer.commit(pending);
        pending = [];
      }
      try {
        if (isChange(msg)) await this.#writer.change(env, msg);
        else env.reply(await this.#commands.handle(msg as CommandMsg));
      } catch (err) {
        if (!(err instanceof RejectedError)) throw err;
        env.fail(err);
      }
    }
    if (pending.length > 0) await this.#writer.commit(pending);
    await this.#trimmer.retainIfOverCount();
  }

  async passivate(): Promise<void> {
    this.#trimmer.stop();
    if (this.#core.state.created) await this.#core.saveSnapshot();
  }

  canPassivate(): boolean {
    return this.#core.fanout.idle();
  }

  inspect(): Record<string, unknown> {
    const c = this.#core;
    return {
      lastSeq: c.last,
      created: c.state.created,
      members: Object.keys(c.state.members).length,
      subscribedEdges: c.fanout.edges(),
      online: c.presence.onlineUsers().length,
      historyHeld: c.history.size,
      firstSeq: c.first,
    };
  }
}

/** Metadata writes and reads of history must see the publishes queued before them committed. */
function needsCommittedState(msg: ChannelMsg): boolean {
  return msg.type === "create" || msg.type === "join" || msg.type === "leave" || msg.type === "invite" ||
    msg.type === "topic" || msg.type === "subscribe" || msg.type === "history" || msg.type === "mark_read" || isChange(msg) || isModeration(msg) ||
    msg.type === "retention" || msg.type === "retain" || msg.type === "erase" || msg.type === "admin_member" || msg.type === "hooks";
}
