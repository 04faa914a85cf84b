import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { OutboxEntry, OutboxStore } from "../core/outbox.ts";

/**
 * An outbox in one JSON file, for Node processes whose queued publishes must survive a restart.
 * Every change rewrites the file (write to a temp file, then rename: a crash leaves the old or the
 * new file, never half of one); changes are serialised, so `put` resolves only once written.
 */
export class FileOutbox implements OutboxStore {
  #entries: Map<string, OutboxEntry> | undefined;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly path: string) {}

  async list(): Promise<OutboxEntry[]> {
    return [...(await this.#load()).values()];
  }

  put(entry: OutboxEntry): Promise<void> {
    return this.#change((m) => m.set(entry.cid, { ...entry }));
  }

  remove(cid: string): Promise<void> {
    return this.#change((m) => m.delete(cid));
  }

  async #load(): Promise<Map<string, OutboxEntry>> {
    if (this.#entries) return this.#entries;
    try {
      const list = JSON.parse(await readFile(this.path, "utf8")) as OutboxEntry[];
      this.#entries = new Map(list.map((e) => [e.cid, e]));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      this.#entries = new Map();
    }
    return this.#entries;
  }

  #change(fn: (m: Map<string, OutboxEntry>) => void): Promise<void> {
    const next = this.#chain.then(async () => {
      const m = await this.#load();
      fn(m);
      await mkdir(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.tmp`;
      await writeFile(tmp, JSON.stringify([...m.values()]));
      await rename(tmp, this.path);
    });
    this.#chain = next.catch(() => {});
    return next;
  }
}
