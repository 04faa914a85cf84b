import type { Envelope } from "../runtime/core/actor.ts";
import { FencedError, StormError, UnavailableError } from "../runtime/core/errors.ts";
import type { AppendOutcome, JournalEntry } from "../storage/store.ts";
import { changeEntry, changeRef, type ChangeMsg } from "./change_rules.ts";
import type { ChannelCore } from "./channel_core.ts";
import { access } from "./channel_state.ts";
import type { ChannelMsg, PublishAck } from "./messages.ts";
import { messageState } from "./message_view.ts";
import { dedupeWithinBatch, entriesOf, type Write } from "./write_batch.ts";

/**
 * The write side of a channel: admits publishes and changes, appends them to the journal under
 * the activation's epoch, and only then acknowledges and fans them out (G1, G2); a retried client
 * id gets its first seq (G3).
 */
export class ChannelWriter {
  readonly #core: ChannelCore;

  constructor(core: ChannelCore) {
    this.#core = core;
  }

  /** Checks a publish and answers a retried one from memory; the rest join `pending`, committed together. */
  admitPublish(env: Envelope<Extract<ChannelMsg, { type: "publish" }>>, pending: Write[]): void {
    const c = this.#core;
    const { user, clientId, body } = env.msg;
    try {
      // A system publish comes from a backend through the server API: no membership to check.
      if (env.msg.system) access.requireExists(c.state);
      else access.requireCanPost(c.state, user, c.ctx.clock.now());
    } catch (err) {
      env.fail(err);
      return;
    }
    const seq = c.history.seqOf(clientId);
    if (seq !== undefined) {
      env.reply({ seq, duplicate: true } satisfies PublishAck);
      return;
    }
    pending.push({ env, user, clientId, body });
  }

  /**
   * A change (edit, delete, reaction, thread reply), with everything before it committed: a
   * retried client id gets its first seq (G3) before any check, since the change it made may
   * forbid it now (a second delete); else the change is checked against the current state of
   * its message and committed alone.
   */
  async change(env: Envelope, msg: ChangeMsg): Promise<void> {
    const c = this.#core;
    access.requireMember(c.state, msg.user);
    const seen = c.history.seqOf(msg.clientId) ?? (await c.ctx.store.findClientIds(c.ctx.self, [msg.clientId])).get(msg.clientId);
    if (seen !== undefined) return env.reply({ seq: seen, duplicate: true } satisfies PublishAck);
    const ref = changeRef(msg);
    const target = await c.reader.entryAt(ref, c.last);
    const st = target && messageState(target, await c.ctx.store.readRefs(c.ctx.self, [ref]));
    const entry = changeEntry(c.state, msg, target, st, c.ctx.clock.now());
    await this.commit([{ env, user: msg.user, clientId: msg.clientId, ...entry }]);
  }

  /** Appends the pending writes in one conditional write, then acks and fans out (G1, G2, G3). */
  async commit(pending: Write[]): Promise<void> {
    const c = this.#core;
    let todo = dedupeWithinBatch(pending);
    while (todo.length > 0) {
      const now = c.ctx.clock.now();
      const entries = entriesOf(todo, c.last + 1, now);
      let out: AppendOutcome;
      try {
        out = await c.ctx.store.append(c.ctx.self, c.ctx.epoch, entries);
      } catch (err) {
        await this.#settleUnknownCommit(todo, entries, err);
        return;
      }
      if (out.ok) {
        c.last += entries.length;
        c.history.push(entries);
        for (let i = 0; i < todo.length; i++) todo[i]!.env.reply({ seq: entries[i]!.seq, duplicate: false } satisfies PublishAck);
        this.#deliver(entries);
        return;
      }
      if (out.reason === "fenced") throw new FencedError(`Channel ${c.name}: epoch ${c.ctx.epoch} was fenced`);
      if (out.reason === "conflict") throw new StormError("internal", `Channel ${c.name}: seq conflict at ${c.last + 1}`);
      for (const [id, seq] of out.existing) c.history.rememberId(id, seq);
      todo = todo.filter((w) => {
        const seq = out.existing.get(w.clientId);
        if (seq === undefined) return true;
        w.env.reply({ seq, duplicate: true } satisfies PublishAck);
        return false;
      });
    }
  }

  /**
   * The append failed without an outcome (connection lost, commit result unknown): what the store
   * holds now is the truth. Entries it committed are delivered and acked; the rest fail retryably,
   * and a retry with the same client id is exactly-once (G3). If even the read fails, the actor
   * restarts from storage.
   */
  async #settleUnknownCommit(
    todo: readonly Write[],
    tried: readonly JournalEntry[],
    cause: unknown,
  ): Promise<void> {
    const c = this.#core;
    await c.requireCurrentEpoch();
    const committed = await c.ctx.store.readAfter(c.ctx.self, c.last, todo.length + 1_000);
    if (committed.length > 0) {
      c.last = committed[committed.length - 1]!.seq;
      c.history.push(committed);
      this.#deliver(committed);
    }
    const ours = new Map(tried.map((e) => [e.clientId, e]));
    for (const { env, clientId } of todo) {
      const seq = c.history.seqOf(clientId);
      const found = committed.find((e) => e.clientId === clientId);
      const byThisAttempt = found !== undefined && found.seq === ours.get(found.clientId)?.seq && found.ts === ours.get(found.clientId)?.ts;
      if (seq !== undefined) env.reply({ seq, duplicate: !byThisAttempt } satisfies PublishAck);
      else env.fail(new UnavailableError(`Channel ${c.name}: commit failed; retry with the same client id`, { cause }));
    }
  }

  /** Committed entries go to the subscribed edges, and to the sessions of the users they notify. */
  #deliver(entries: JournalEntry[]): void {
    this.#core.emit({ type: "msgs", ch: this.#core.name, m: entries });
    this.#core.notify(entries);
  }
}
