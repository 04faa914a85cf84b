import { FencedError } from "../runtime/core/errors.ts";
import type { Timer } from "../runtime/core/clock.ts";
import type { ChannelCore } from "./channel_core.ts";
import { ageCheckMs, overCount, type RetentionPolicy, TRIM_INTERVAL_MS, trimRule } from "./retention.ts";

/** A channel's retention as `retention` and `retention_get` report it. */
export interface RetentionView {
  channel: string;
  policy: RetentionPolicy;
  own: boolean;
  first: number;
  last: number;
}

/**
 * Applies a channel's retention policy (its own, else the server's) to its journal: trims at most
 * every `TRIM_INTERVAL_MS`, after publishes that put it over its count, and on a timer while a
 * channel with an age limit is active.
 */
export class JournalTrimmer {
  readonly #core: ChannelCore;
  #nextTrimAt = 0;
  #ageTimer: Timer | undefined;

  constructor(core: ChannelCore) {
    this.#core = core;
  }

  policy(): RetentionPolicy {
    return this.#core.state.retention ?? this.#core.opts.retention;
  }

  view(): RetentionView {
    const c = this.#core;
    return { channel: c.name, policy: this.policy(), own: c.state.retention !== undefined, first: c.first, last: c.last };
  }

  /** After publishes: trims when the journal holds more than the count allows, unless it trimmed just now. */
  async retainIfOverCount(): Promise<void> {
    if (overCount(this.policy(), this.#core.first, this.#core.last) && this.#core.ctx.clock.now() >= this.#nextTrimAt) await this.retain();
  }

  /** On the age timer: trims unless it trimmed just now, and sets the timer again. */
  async retainIfDue(): Promise<void> {
    if (this.#core.ctx.clock.now() >= this.#nextTrimAt) await this.retain();
    this.armAgeCheck();
  }

  /**
   * Trims the journal's prefix as the policy says, through the store's conditional trim (never
   * the last entry, never within the exactly-once horizon), then forgets the same prefix in memory,
   * so no resume is served a message the store no longer holds.
   */
  async retain(): Promise<void> {
    const c = this.#core;
    const now = c.ctx.clock.now();
    this.#nextTrimAt = now + TRIM_INTERVAL_MS;
    const rule = trimRule(this.policy(), c.last, now, c.opts.dedupeHorizonMs);
    if (!rule || c.last === 0) return;
    const floor = await c.ctx.store.trim(c.ctx.self, c.ctx.epoch, rule);
    if (floor === null) throw new FencedError(`Channel ${c.name}: trim fenced at epoch ${c.ctx.epoch}`);
    if (floor < c.first) return;
    c.first = floor + 1;
    c.history.dropThrough(floor);
  }

  /** While active, a channel with an age limit checks it on a timer (a passivated one at its next activation). */
  armAgeCheck(): void {
    this.stop();
    const every = ageCheckMs(this.policy());
    if (every === undefined) return;
    const { clock, self } = this.#core.ctx;
    this.#ageTimer = clock.setTimeout(() => this.#core.ctx.tell(self, { type: "retain" }), every);
  }

  stop(): void {
    this.#ageTimer?.cancel();
    this.#ageTimer = undefined;
  }
}
