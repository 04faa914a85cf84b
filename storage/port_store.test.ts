import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MessageChannel } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StoreProtocolError, StoreQueryError } from "./errors.ts";
import { openPgliteStore } from "./pglite_store.ts";
import { PortStore } from "./port_store.ts";
import type { Store } from "./store.ts";
import type { UserDataStore } from "./user_data_store.ts";
import type { ApiKeyStore } from "./api_key_store.ts";
import type { WebhookStore } from "./webhook_store.ts";
import { runStoreConformance } from "./store_conformance.ts";
import { serveStore } from "./store_server.ts";

/** A PortStore that also owns its channel and the served store, so the suite can close and reopen it. */
class OwningPortStore extends PortStore {
  readonly #served: Store & UserDataStore & ApiKeyStore & WebhookStore;
  readonly #ports: MessagePort[];

  constructor(served: Store & UserDataStore & ApiKeyStore & WebhookStore) {
    const { port1, port2 } = new MessageChannel();
    serveStore(served, port1);
    super(port2);
    this.#served = served;
    this.#ports = [port1, port2];
  }

  override async close(): Promise<void> {
    await super.close();
    for (const port of this.#ports) port.close();
    await this.#served.close();
  }
}

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "storm-port-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

runStoreConformance("port to pglite (directory)", async () => new OwningPortStore(await openPgliteStore(join(dir, "db"))), {
  durable: true,
});

describe("port store", () => {
  let served: Store & UserDataStore & ApiKeyStore & WebhookStore;
  beforeAll(async () => {
    served = await openPgliteStore(undefined);
  });
  afterAll(async () => {
    await served.close();
  });

  it("port store - requests issued in one tick travel in one message", async () => {
    const { port1, port2 } = new MessageChannel();
    const sizes: number[] = [];
    port1.on("message", (batch: unknown[]) => sizes.push(batch.length));
    serveStore(served, port1);
    const store = new PortStore(port2);
    await Promise.all([store.bounds("a"), store.bounds("b"), store.currentEpoch("c")]);
    expect(sizes).toEqual([3]);
    port1.close();
  });

  it("port store - a storage error arrives with its class", async () => {
    const { port1, port2 } = new MessageChannel();
    serveStore(served, port1);
    const store = new PortStore(port2);
    // A limit that is not a number makes the statement fail on the storage side.
    await expect(store.readAfter("a", 0, "many" as unknown as number)).rejects.toBeInstanceOf(StoreQueryError);
    port1.close();
  });

  it("port store - a malformed request gets a protocol error, not a crash", async () => {
    const { port1, port2 } = new MessageChannel();
    serveStore(served, port1);
    const reply = new Promise<unknown>((resolve) => port2.once("message", resolve));
    port2.postMessage([{ id: 7, op: "dropTable", args: [] }, "garbage"]);
    expect(await reply).toEqual([{ id: 7, error: { name: StoreProtocolError.name, message: expect.stringContaining("7") } }]);
    port1.close();
  });
});
