import type { OutboxEntry, OutboxStore } from "../core/outbox.ts";

/**
 * An outbox in IndexedDB: queued publishes survive a reload or a crashed tab, and every tab of the
 * origin sees the same entries. `put` resolves when its transaction completed (durable).
 */
export class IndexedDbOutbox implements OutboxStore {
  private constructor(private readonly db: IDBDatabase) {}

  static open(name = "storm-outbox"): Promise<IndexedDbOutbox> {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(name, 1);
      req.onupgradeneeded = () => req.result.createObjectStore("entries", { keyPath: "cid" });
      req.onsuccess = () => resolve(new IndexedDbOutbox(req.result));
      req.onerror = () => reject(req.error);
    });
  }

  list(): Promise<OutboxEntry[]> {
    return this.#run("readonly", (s) => s.getAll()) as Promise<OutboxEntry[]>;
  }

  async put(entry: OutboxEntry): Promise<void> {
    await this.#run("readwrite", (s) => s.put(entry));
  }

  async remove(cid: string): Promise<void> {
    await this.#run("readwrite", (s) => s.delete(cid));
  }

  #run(mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const tx = this.db.transaction("entries", mode);
      const req = op(tx.objectStore("entries"));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  }
}
