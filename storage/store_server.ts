import { StoreProtocolError, storeErrorToWire } from "./errors.ts";
import type { Store } from "./store.ts";
import type { UserDataStore } from "./user_data_store.ts";
import type { ApiKeyStore } from "./api_key_store.ts";
import type { WebhookStore } from "./webhook_store.ts";
import { TickBatcher, isStoreOp } from "./store_protocol.ts";
import type { StorePort, StoreReply, StoreRequest } from "./store_protocol.ts";

/**
 * Serves `store` to a `PortStore` on the other end of `port` (run it in the storage worker, once
 * per actor worker). Requests start in arrival order and run concurrently, so appends from many
 * actors meet in the store's group commit; replies of one tick go back in one message. A
 * malformed request gets a `StoreProtocolError` reply, never a crash. The port and the store stay
 * owned by the caller: closing either is its job.
 */
export function serveStore(store: Store & UserDataStore & ApiKeyStore & WebhookStore, port: StorePort): void {
  const replies = new TickBatcher(port);
  port.on("message", (batch) => {
    if (!Array.isArray(batch)) return;
    for (const req of batch) void answer(store, req, replies);
  });
}

async function answer(store: Store & UserDataStore & ApiKeyStore & WebhookStore, req: unknown, replies: TickBatcher): Promise<void> {
  if (!isRequest(req)) {
    const id = typeof req === "object" && req !== null && "id" in req ? req.id : undefined;
    if (typeof id !== "number") return;
    const error = new StoreProtocolError(`Cannot serve store request ${id}: unknown operation or bad arguments`);
    replies.push({ id, error: storeErrorToWire(error) } satisfies StoreReply);
    return;
  }
  try {
    const call = store[req.op] as (...args: unknown[]) => Promise<unknown>;
    const value = await call.apply(store, req.args);
    replies.push({ id: req.id, value } satisfies StoreReply);
  } catch (err) {
    replies.push({ id: req.id, error: storeErrorToWire(err) } satisfies StoreReply);
  }
}

function isRequest(req: unknown): req is StoreRequest {
  if (typeof req !== "object" || req === null) return false;
  const r = req as Partial<StoreRequest>;
  return typeof r.id === "number" && isStoreOp(r.op) && Array.isArray(r.args);
}
