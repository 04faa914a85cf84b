#!/usr/bin/env node
import { loadConfig } from "../server/config.ts";
import { startNode } from "../server/node.ts";

const USAGE = `storm: a real-time messaging node

  storm serve [--port 8080] [--host 127.0.0.1] [--data-dir .data] [--workers N]
              [--postgres URL] [--jwt-secret S] [--dev-tokens] [--node-id n1]
              [--cluster HOST:PORT,... --cluster-name NAME --cluster-secret S
               --advertise ws://HOST:PORT --lease-ms 3000]
              [--history 2000] [--max-buffered 1048576] [--write-chunk 100] [--pg-pool 4]
              [--idle-ms 120000] [--ask-timeout-ms 10000] [--heartbeat-ms 45000] [--auth-timeout-ms 10000]
              [--log-level debug|info|warn|error]   (JSON lines on stderr)
  storm inspect nodes | actors [--prefix P] [--node ID] | actor ID | migrate ID --to NODE | drain NODE
              [--url http://127.0.0.1:8080] [--token T] [--json]   (storm inspect --help for more)

Every serve flag also reads from the environment (STORM_PORT, STORM_DATA_DIR, STORM_POSTGRES_URL, ...);
inspect reads STORM_URL and STORM_TOKEN.
Without --postgres the node stores everything in PGlite under --data-dir.`;

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === "serve") {
  const cfg = loadConfig(rest, process.env);
  const node = await startNode(cfg, {
    // Crash-only: a node that lost its lease has stopped its actors; it exits and is restarted fresh.
    onLeaseLost: () => process.exit(75),
  });
  console.log(JSON.stringify({ event: "listening", node: node.id, port: node.port, workers: cfg.workers, store: cfg.postgresUrl ? "postgres" : `pglite:${cfg.dataDir}`, cluster: cfg.cluster ? cfg.clusterName : undefined }));
  if (!cfg.jwtSecret) console.log(`dev tokens on: curl -XPOST http://${cfg.host}:${node.port}/auth/dev-token -d '{"user":"alice"}'`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await node.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
} else if (cmd === "inspect") {
  const { runInspect } = await import("../cli/inspect.ts");
  process.exitCode = await runInspect(rest, { out: (text) => console.log(text), err: (text) => console.error(text), env: process.env });
} else {
  console.log(USAGE);
  process.exit(cmd === undefined || cmd === "help" || cmd === "--help" ? 0 : 2);
}
