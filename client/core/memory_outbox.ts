import type { OutboxEntry, OutboxStore } from "./outbox.ts";

/** An outbox in memory: survives reconnects, not a restart of the process. */
export class MemoryOutbox implements OutboxStore {
  readonly #entries = new Map<string, OutboxEntry>();

  async list(): Promise<OutboxEntry[]> {
    return [...this.#entries.values()];
  }

  async put(entry: OutboxEntry): Promise<void> {
    this.#entries.set(entry.cid, { ...entry });
  }

  async remove(cid: string): Promise<void> {
    this.#entries.delete(cid);
  }
}
