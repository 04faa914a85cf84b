import type { Channel } from "./channel.ts";
import type { StormClientError } from "./errors.ts";
import type { Platform } from "./platform.ts";
import type { ServerFrame } from "./protocol.ts";
import { SubRequests } from "./sub_requests.ts";
import type { Transport } from "./transport.ts";

/** @internal What the subscriptions need of the session. */
export interface SubscriptionDeps {
  platform: Platform;
  requestTimeoutMs: number;
  nextId(): number;
  channel(ch: string): Channel | undefined;
  /** True while `t` is the session's connection. */
  current(t: Transport): boolean;
  /** Gives up on connection `t` (if still the current one) and reconnects. */
  drop(t: Transport, reason: string): void;
}

/**
 * @internal The channel subscriptions of the session's connection: each `sub` asks from its
 * handle's last seq, so a resubscription (after a gap, a refusal for a while, a new connection)
 * resumes where the handle left off (G4); the replies (`subbed`, or an `err` with its retry rule)
 * go to the handles.
 */
export class ChannelSubscriptions {
  readonly #subs: SubRequests;

  constructor(private readonly d: SubscriptionDeps) {
    this.#subs = new SubRequests(d.platform);
  }

  /** Subscribes `ch` on connection `t` from its handle's last seq. */
  send(t: Transport, ch: string): void {
    const id = this.d.nextId();
    this.#subs.sent(id, ch, t.kind === "websocket" ? this.d.requestTimeoutMs : undefined, () => this.d.drop(t, `no answer to sub ${ch}`));
    t.subscribe(ch, this.d.channel(ch)?.lastSeq ?? 0, id);
  }

  subbed(f: Extract<ServerFrame, { t: "subbed" }>): void {
    this.#subs.answered(f.id);
    this.#subs.confirmed(f.ch);
    this.d.channel(f.ch)?.onSubbed(f);
  }

  /** A batch for a channel; a handle that finds a gap in it subscribes again from its last seq. */
  messages(t: Transport, f: Extract<ServerFrame, { t: "msgs" }>): void {
    const ch = this.d.channel(f.ch);
    if (ch?.subscribed && !ch.onMessages(f.m)) this.send(t, f.ch);
  }

  /** An error reply on `t`: true when it refused a `sub` (and is dealt with here), false when it answered none. */
  refused(t: Transport, id: number | undefined, err: StormClientError): boolean {
    const ch = this.#subs.answered(id);
    if (ch === undefined) return false;
    // Refused for good (`not_member`, ...): the handle stops asking. For a while (the channel
    // moving between nodes): asked again. Anything else: resumed on a fresh connection.
    if (err.retry === "never") this.d.channel(ch)?.onSubFailed(err);
    else if (err.retry === "retry") {
      this.#subs.retryLater(ch, () => {
        if (this.d.current(t) && this.d.channel(ch)?.subscribed) this.send(t, ch);
      });
    } else this.d.drop(t, `sub ${ch} failed: ${err.code}`);
    return true;
  }

  /** The connection ended: its subscriptions are asked for again on the next one. */
  clear(): void {
    this.#subs.clear();
  }
}
