/**
 * The end of one event-loop turn, in two steps: `early` work runs before `late` work. Messages to
 * other threads and nodes are early, writes to client sockets late. A turn that both forwards
 * publishes to an actor worker and writes a fan-out to a thousand sockets thus hands the publishes
 * over first, and the worker commits them while this thread is still writing, instead of waiting
 * for the writes to end (on a saturated main thread, one whole turn of latency per publish).
 */
export class TurnEnd {
  #early: Array<() => void> = [];
  #late: Array<() => void> = [];
  #armed = false;

  constructor(private readonly schedule: (fn: () => void) => void) {}

  readonly early = (fn: () => void): void => {
    this.#early.push(fn);
    this.#arm();
  };

  readonly late = (fn: () => void): void => {
    this.#late.push(fn);
    this.#arm();
  };

  #arm(): void {
    if (this.#armed) return;
    this.#armed = true;
    this.schedule(this.#run);
  }

  /** Runs every task queued before it started; a task that throws costs the others nothing, and the first error is rethrown after. */
  readonly #run = (): void => {
    this.#armed = false;
    const early = this.#early;
    const late = this.#late;
    this.#early = [];
    this.#late = [];
    runEach(early.length + late.length, (i) => (i < early.length ? early[i]! : late[i - early.length]!)());
  };
}

/**
 * Calls `call(0)` .. `call(n - 1)`; one that throws costs the others nothing, and the first error
 * is rethrown once all have run (where it surfaces as before).
 */
export function runEach(n: number, call: (i: number) => void): void {
  let failure: { err: unknown } | undefined;
  for (let i = 0; i < n; i++) {
    try {
      call(i);
    } catch (err) {
      failure ??= { err };
    }
  }
  if (failure) throw failure.err;
}
