import type { WireError } from "./errors.ts";
import type { LifecycleEvent } from "./actor_host.ts";

/**
 * The thread hot path. A port carries one flat array per destination per loop turn (batching is
 * what makes fan-out fast): each frame is its op followed by its fields, with no array of its own,
 * so that the structured clone of a batch of publishes copies strings and numbers, not one array
 * and one keyed object per publish.
 *
 * | op     | fields               |
 * |--------|----------------------|
 * | Tell   | to, msg              |
 * | Ask    | to, msg, reqId       |
 * | Reply  | reqId, value         |
 * | Fail   | reqId, WireError     |
 * | Out    | to, msg              |
 * | Life   | LifecycleEvent       |
 * | Evict  | actor id             |
 *
 * An op with the `Coded` bit set carries its msg (or value) in the `WireCodec`'s compact form.
 */
export const enum Op {
  Tell = 0,
  Ask = 1,
  Reply = 2,
  Fail = 3,
  Out = 4,
  Life = 5,
  Evict = 6,
  Coded = 8,
}

/** A batch of frames as it crosses a port. */
export type Batch = unknown[];

/**
 * A compact form for the messages and replies sent most (a publish and its ack), chosen by the
 * layer that defines them (`actors/wire_codec.ts`); the runtime knows none of them. `encode`
 * returns `undefined` for a value it has no compact form for, which then crosses as it is.
 * Contract: `decode(encode(v))` equals `v` whenever `encode(v)` is defined.
 */
export interface WireCodec {
  encode(value: unknown): unknown;
  decode(wire: unknown): unknown;
}

/** Every value crosses as it is (structured clone). */
export const plainCodec: WireCodec = { encode: () => undefined, decode: (wire) => wire };

export type { LifecycleEvent, WireError };
