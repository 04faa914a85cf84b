import type { PortLike } from "./platform.ts";

/**
 * Collects frames bound for one port and posts them as one array at the end of the loop turn.
 * Frames keep their order: a port delivers batches in order, and a batch keeps its order.
 */
export class Outbox<F> {
  #frames: F[] = [];
  #scheduled = false;
  readonly #flush = () => {
    this.#scheduled = false;
    const frames = this.#frames;
    this.#frames = [];
    this.port.postMessage(frames);
  };

  constructor(
    private readonly port: PortLike,
    private readonly defer: (fn: () => void) => void,
  ) {}

  push(frame: F): void {
    this.#frames.push(frame);
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.defer(this.#flush);
    }
  }
}
