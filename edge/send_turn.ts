import { Buffer } from "node:buffer";
import { runEach } from "../runtime/core/turn_end.ts";
import { SharedBytes, type SharedFrame } from "./shared_frame.ts";

const OPEN = Buffer.from("[");
const COMMA = Buffer.from(",");
const CLOSE = Buffer.from("]");

interface Join {
  shared?: SharedBytes;
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
  /** Index of the next flush in `#queue`: the part before it is written. */
  #head = 0;
  /** Joins built this turn, as a trie keyed by frame identity. */
  #joins = new Map<SharedFrame, Join>();

  /**
   * @param chunk flushes per run. Past it, the rest of the queue runs at the next turn end, after
   *   the loop has read sockets and worker messages: a batch committed meanwhile joins the frames
   *   of every socket not yet written in this pass (one write, not two), and the sockets already
   *   written queue again behind the rest. A socket is in the queue at most once, so its frames
   *   keep their order.
   */
  constructor(
    private readonly defer: (fn: () => void) => void,
    private readonly chunk = Infinity,
  ) {}

  /** Runs `fn` after every flush queued before it (at this turn's end, or a later one's past a chunk). */
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
   * distinct sequence, as `SharedBytes`. With a socket's own frame (a reply) in it: built for that
   * socket alone, still from the shared frames' encoded bytes.
   */
  joined(frames: ReadonlyArray<SharedFrame | string>): SharedBytes {
    let map = this.#joins;
    let node: Join | undefined;
    for (const f of frames) {
      // A socket's own reply among them: this message is its alone, built and not kept.
      if (typeof f === "string") return SharedBytes.ofParts(arrayParts(frames));
      if (node) map = node.next ??= new Map();
      node = map.get(f);
      if (!node) map.set(f, (node = {}));
    }
    return (node!.shared ??= SharedBytes.ofParts(arrayParts(frames)));
  }

  readonly #run = (): void => {
    const queue = this.#queue;
    const end = Math.min(queue.length, this.#head + this.chunk);
    const head = this.#head;
    try {
      // One flush that throws must not cost the others their turn.
      runEach(end - head, (i) => queue[head + i]!.flush());
    } finally {
      this.#advance(queue, end);
      // Joins are only shared within a run; keeping them longer would only hold memory.
      this.#joins = new Map();
    }
  };

  /** Marks the queue written up to `end`; what remains runs at the next turn end. */
  #advance(queue: Flushable[], end: number): void {
    if (end === queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else {
      // Under a steady stream of batches the queue may never empty: drop its written part now and then.
      if (end >= 1024 && end * 2 >= queue.length) {
        this.#queue = queue.slice(end);
        this.#head = 0;
      } else this.#head = end;
      this.defer(this.#run);
    }
  }
}

/** The pieces of `[a,b,..]`: the frames' encoded bytes between brackets and commas. */
function arrayParts(frames: ReadonlyArray<SharedFrame | string>): Buffer[] {
  const parts: Buffer[] = [OPEN];
  for (let i = 0; i < frames.length; i++) {
    if (i > 0) parts.push(COMMA);
    const f = frames[i]!;
    parts.push(typeof f === "string" ? Buffer.from(f, "utf8") : f.bytes);
  }
  parts.push(CLOSE);
  return parts;
}
