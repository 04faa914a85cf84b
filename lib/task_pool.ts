/**
 * Runs queued tasks in the order they were added, at most `limit` at once. A task's failure is
 * its own business (it is not reported here): the pool only paces.
 *
 * ```ts
 * const pool = new TaskPool(2);
 * for (const ch of channels) pool.add(() => resubscribe(ch)); // 2 in flight, the rest wait
 * ```
 */
export class TaskPool {
  #queue: Array<() => Promise<unknown>> = [];
  #head = 0;
  #running = 0;

  constructor(readonly limit: number) {}

  /** Tasks queued and not started yet. */
  get waiting(): number {
    return this.#queue.length - this.#head;
  }

  get running(): number {
    return this.#running;
  }

  add(task: () => Promise<unknown>): void {
    this.#queue.push(task);
    this.#pump();
  }

  /** Drops every task not started yet (those running finish on their own). */
  clear(): void {
    this.#queue = [];
    this.#head = 0;
  }

  #pump(): void {
    while (this.#running < this.limit && this.#head < this.#queue.length) {
      const task = this.#queue[this.#head++]!;
      if (this.#head === this.#queue.length) this.clear();
      this.#running++;
      const done = () => {
        this.#running--;
        this.#pump();
      };
      Promise.resolve().then(task).then(done, done);
    }
  }
}
