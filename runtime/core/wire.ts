import type { WireError } from "./errors.ts";
import type { LifecycleEvent } from "./actor_host.ts";

/**
 * Frames of the thread hot path. A port carries arrays of frames (one `postMessage` per
 * destination per loop turn), never single messages: batching is what makes fan-out fast.
 */
export const enum Op {
  Tell = 0,
  Ask = 1,
  Reply = 2,
  Out = 3,
  Life = 4,
  Evict = 5,
}

export type Frame =
  | [Op.Tell, string, unknown]
  | [Op.Ask, string, unknown, number]
  | [Op.Reply, number, true, unknown]
  | [Op.Reply, number, false, WireError]
  | [Op.Out, string, unknown]
  | [Op.Life, LifecycleEvent]
  | [Op.Evict, string];
