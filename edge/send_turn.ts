import { Buffer } from "node:buffer";
import type { SharedFrame } from "./shared_frame.ts";

const OPEN = Buffer.from("[");
const COMMA = Buffer.from(",");
const CLOSE = Buffer.from("]");

interface Join {
  bytes?: Buffer;
  next?: Map<SharedFrame, Join>;
}

/**
 * The socket writes of one loop turn. Every socket's flush runs from one deferred callback, and
 * sockets that got the same shared frames in the turn (the usual case: every subscriber of a
 * channel got the same batches) share one encoded `[a,b,c]` message, built once for all of them.
 */
/** Something that writes at the end of the turn: a connection, or a callback wrapped as one. */
export interface Flushable {
  flush(): void;
}

export class SendTurn {
  #queue: Flushable[] = [];
  /** Joins built this turn, as a trie keyed by frame identity. */
  #joins = new Map<SharedFrame, Join>();

  constructor(private readonly defer: (fn: () => void) => void) {}

  /** Runs `fn` at the end of this loop turn, with every other deferred flush. */
  readonly later = (fn: () => void): void => this.flushLater({ flush: fn });

  /**
   * Calls `c.flush()` at the end of this loop turn. Connections queue themselves, not a callback:
   * a bound callback per connection would cost each idle connection a closure.
   */
  flushLater(c: Flushable): void {
    if (this.#queue.push(c) === 1) this.defer(this.#run);
  }

  /**
   * Two or more frames as one JSON array message. Shared frames only: built once per turn per
   * distinct sequence. With a socket's own frame (a reply) in it: built for that socket alone,
   * still from the shared frames' encoded bytes.
   */
  joined(frames: ReadonlyArray<SharedFrame | string>): Buffer {
    let map = this.#joins;
    let node: Join | undefined;
    for (const f of frames) {
      if (typeof f === "string") return join(frames);
      if (node) map = node.next ??= new Map();
      node = map.get(f);
      if (!node) map.set(f, (node = {}));
    }
    return (node!.bytes ??= join(frames));
  }

  readonly #run = (): void => {
    const queued = this.#queue;
    this.#queue = [];
    let failure: { err: unknown } | undefined;
    // One flush that throws must not cost the others their turn: every queued flush runs, and the
    // first error is rethrown afterwards, where it surfaces as before.
    for (const c of queued) {
      try {
        c.flush();
      } catch (err) {
        failure ??= { err };
      }
    }
    // Joins are only shared within a turn; keeping them longer would only hold memory.
    this.#joins = new Map();
    if (failure) throw failure.err;
  };
}

function join(frames: ReadonlyArray<SharedFrame | string>): Buffer {
  const parts: Buffer[] = [OPEN];
  for (let i = 0; i < frames.length; i++) {
    if (i > 0) parts.push(COMMA);
    const f = frames[i]!;
    parts.push(typeof f === "string" ? Buffer.from(f, "utf8") : f.bytes);
  }
  parts.push(CLOSE);
  return Buffer.concat(parts);
}
