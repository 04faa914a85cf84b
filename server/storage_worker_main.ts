import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import { openPgliteStore } from "../storage/pglite_store.ts";
import { serveStore } from "../storage/store_server.ts";
import type { StorePort } from "../storage/store_protocol.ts";
import { wasmBaselineOnly } from "./v8_footprint.ts";

/**
 * Composition root of the embedded storage thread: PGlite is single-threaded, so one thread owns
 * it and serves every actor worker (and the edge's directory reads) through ports.
 */
const { dataDir, ports, statsPort, baselineOnly } = workerData as { dataDir: string | undefined; ports: StorePort[]; statsPort?: MessagePort; baselineOnly?: boolean };
try {
  // `--lean-embedded`, before PGlite compiles: TurboFan's compile memory would stay resident (see wasmBaselineOnly).
  if (baselineOnly) wasmBaselineOnly();
  const store = await openPgliteStore(dataDir);
  for (const port of ports) serveStore(store, port);
  // Each message asks for the group commit's figures (`GET /metrics`); the answer is the snapshot.
  statsPort?.on("message", () => statsPort.postMessage(store.commitStats?.()));
  parentPort!.on("message", async (m: { close?: boolean; serve?: StorePort }) => {
    if (m.serve) return serveStore(store, m.serve);
    if (!m.close) return;
    await store.close();
    parentPort!.postMessage({ closed: true });
  });
  parentPort!.postMessage({ ready: true });
} catch (err) {
  parentPort!.postMessage({ ready: false, error: err instanceof Error ? err.message : String(err) });
}
