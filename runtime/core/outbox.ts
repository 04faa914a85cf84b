import type { PortLike } from "./platform.ts";
import { type Batch, type LifecycleEvent, Op, type WireCodec, type WireError } from "./wire.ts";

/**
 * Collects the frames bound for one port (see `wire.ts`) and posts them as one flat array at the
 * end of the loop turn. Frames keep their order: a port delivers batches in order, and a batch
 * keeps its order.
 */
export class Outbox {
  #batch: Batch = [];
  #scheduled = false;
  readonly #flush = () => {
    this.#scheduled = false;
    const batch = this.#batch;
    this.#batch = [];
    this.port.postMessage(batch);
  };

  constructor(
    private readonly port: PortLike,
    private readonly defer: (fn: () => void) => void,
    private readonly codec: WireCodec,
  ) {}

  /** A `Tell`, `Out` or `Reply` frame: its message or value in the codec's compact form when it has one. */
  send(op: Op.Tell | Op.Out | Op.Reply, head: string | number, value: unknown): void {
    const wire = this.codec.encode(value);
    if (wire === undefined) this.#batch.push(op, head, value);
    else this.#batch.push(op | Op.Coded, head, wire);
    this.#queued();
  }

  ask(to: string, msg: unknown, reqId: number): void {
    const wire = this.codec.encode(msg);
    if (wire === undefined) this.#batch.push(Op.Ask, to, msg, reqId);
    else this.#batch.push(Op.Ask | Op.Coded, to, wire, reqId);
    this.#queued();
  }

  fail(reqId: number, err: WireError): void {
    this.#batch.push(Op.Fail, reqId, err);
    this.#queued();
  }

  /** A `Life` or `Evict` frame (one field, never coded). */
  notice(op: Op.Life | Op.Evict, field: LifecycleEvent | string): void {
    this.#batch.push(op, field);
    this.#queued();
  }

  #queued(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.defer(this.#flush);
  }
}
