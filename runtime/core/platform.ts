/**
 * The narrow surface the runtime needs from its host platform. The core never touches `node:` or
 * `Deno.` itself; one adapter per platform implements this (see `runtime/platform/`).
 */
export interface Platform {
  /** Starts a worker thread running `entry`, handing it `data` (ports in `transfer` move with it). */
  spawnWorker(entry: string, data: unknown, transfer: readonly unknown[]): WorkerHandle;
  createChannel(): { port1: PortLike; port2: PortLike };
  /** Runs `fn` after the I/O callbacks of this loop turn: the batching boundary of every hop. */
  defer(fn: () => void): void;
  cpuCount(): number;
}

/** A message port (or a worker seen from its parent): ordered, reliable, structured clone. */
export interface PortLike {
  postMessage(value: unknown, transfer?: readonly unknown[]): void;
  on(event: "message", fn: (value: unknown) => void): unknown;
  close?(): void;
  unref?(): void;
}

export interface WorkerHandle extends PortLike {
  terminate(): Promise<unknown>;
  on(event: "message", fn: (value: unknown) => void): unknown;
  on(event: "error", fn: (err: Error) => void): unknown;
  on(event: "exit", fn: (code: number) => void): unknown;
}
