import type { ActorContext, Envelope } from "../runtime/core/actor.ts";
import { RejectedError } from "../runtime/core/errors.ts";
import { EdgeFlow } from "./edge_flow.ts";
import type { ChannelMsg, EdgeEvent } from "./messages.ts";

/** A batch outstanding at an edge for longer than this holds new work (bounded delivery lag). */
const FLOW_MAX_LAG_MS = 250;
/** An edge behind for longer than this is dropped from the fan-out; its sockets resume. */
const FLOW_DROP_AFTER_MS = 3_000;
/** Messages held at most; past it, publishes get `rate_limited`. */
const MAX_HELD = 20_000;

/** What a new activation of the channel takes over from the one before it. */
export interface CarriedFanout {
  edges: string[];
  held: Envelope[];
}

/**
 * A channel's subscribers and the flow control in front of its mailbox: every edge with at least
 * one subscribed socket gets each committed batch once, and while some edge lags (see `EdgeFlow`)
 * new work waits here in mailbox order, so the actor processes it only once edges catch up.
 */
export class ChannelFanout {
  readonly #ctx: ActorContext;
  readonly #name: string;
  readonly #edges = new Set<string>();
  readonly #flow = new EdgeFlow(FLOW_MAX_LAG_MS, FLOW_DROP_AFTER_MS);
  /** Messages waiting while edges catch up, in mailbox order. */
  #held: Envelope[] = [];
  #flowCheckArmed = false;

  constructor(ctx: ActorContext, name: string, carried: CarriedFanout | undefined) {
    this.#ctx = ctx;
    this.#name = name;
    // After a crash, edges are still subscribed: keep sending to them. Their sockets' cursors
    // detect any batch they missed, and resume (G4).
    // Messages held by flow control were never processed: the new activation takes them over.
    if (carried) {
      for (const e of carried.edges) this.#edges.add(e);
      this.#held = carried.held;
    }
  }

  carryOver(): CarriedFanout {
    return { edges: [...this.#edges], held: this.#held };
  }

  /**
   * Takes in a mailbox batch: answers the flow control's own messages and holds the rest. Returns
   * what the actor may process now, in mailbox order: nothing while an edge is behind.
   */
  admit(batch: readonly Envelope[]): Envelope[] {
    const now = this.#ctx.clock.now();
    for (const env of batch) {
      const msg = env.msg as ChannelMsg;
      if (msg.type === "delivered") {
        this.#flow.delivered(msg.edge, msg.seq, now);
        env.reply(true);
      } else if (msg.type === "edge_gone") {
        // Waiting the 3 s drop bound for it would hold every publish on this channel that long.
        this.drop(msg.edge);
        env.reply(true);
      } else if (msg.type === "flow_check") {
        this.#flowCheckArmed = false;
        for (const edge of this.#flow.laggards(now)) {
          this.drop(edge);
          // Without this the edge's sockets would wait for batches that never come: no later
          // batch, no gap to notice. Told, they resubscribe from their cursors and page history.
          this.#ctx.tell(edge, { type: "dropped", ch: this.#name } satisfies EdgeEvent);
        }
        env.reply(true);
      } else if (msg.type === "publish" && this.#held.length >= MAX_HELD) {
        env.fail(new RejectedError("rate_limited", `Channel ${this.#name} is delivering a backlog; retry shortly`));
      } else {
        this.#held.push(env);
      }
    }
    if (this.#held.length === 0) return [];
    if (this.#flow.holding(now)) {
      this.#armFlowCheck();
      return [];
    }
    const work = this.#held;
    this.#held = [];
    return work;
  }

  /** Sends an event to every subscribed edge; a batch of messages starts its delivery clock. */
  emit(event: EdgeEvent): void {
    if (event.type === "msgs") {
      const now = this.#ctx.clock.now();
      const last = event.m[event.m.length - 1]!.seq;
      for (const edge of this.#edges) this.#flow.sent(edge, last, now);
    }
    for (const edge of this.#edges) this.#ctx.tell(edge, event);
  }

  add(edge: string): void {
    this.#edges.add(edge);
  }

  drop(edge: string): void {
    this.#edges.delete(edge);
    this.#flow.forget(edge);
  }

  edges(): string[] {
    return [...this.#edges];
  }

  /** No subscriber and nothing held: the channel may passivate. */
  idle(): boolean {
    return this.#edges.size === 0 && this.#held.length === 0;
  }

  /** While held, a self-addressed check drops edges that never catch up, so work cannot stall. */
  #armFlowCheck(): void {
    if (this.#flowCheckArmed) return;
    this.#flowCheckArmed = true;
    this.#ctx.clock.setTimeout(() => this.#ctx.tell(this.#ctx.self, { type: "flow_check" }), this.#flow.dropAfterMs);
  }
}
