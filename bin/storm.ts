#!/usr/bin/env node
import { cliOutcome, packageVersion, UsageError } from "../cli/cli_args.ts";
import { loadConfig, SERVE_USAGE } from "../server/config.ts";
import { lockDataDir } from "../server/data_dir_lock.ts";
import type { RunningNode } from "../server/node.ts";
import { EXIT, StartupError } from "../server/startup_error.ts";
import { holdYoungGeneration } from "../server/v8_footprint.ts";

const USAGE = `storm: a real-time messaging node

  storm serve [options]        run a node (storm serve --help lists every option)
  storm inspect COMMAND        look at and move the actors of a node or cluster (storm inspect --help)
  storm keys COMMAND           create, list and revoke server API keys (storm keys --help)
  storm chat --user NICK       an IRC-like terminal client on the client SDK (storm chat --help)
  storm --version

Every serve option also reads from the environment (STORM_PORT, STORM_DATA_DIR, STORM_POSTGRES_URL, ...);
inspect and chat read STORM_URL and STORM_TOKEN. Without --postgres the node stores everything in PGlite
under --data-dir.`;

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === "serve") await serve(rest);
else if (cmd === "keys") {
  const { runKeys } = await import("../cli/keys.ts");
  process.exitCode = await runKeys(rest, { out: (text) => console.log(text), err: (text) => console.error(text), env: process.env });
} else if (cmd === "chat") {
  const { runChat } = await import("../cli/chat.ts");
  process.exitCode = await runChat(rest, { out: (text) => console.log(text), err: (text) => console.error(text), env: process.env, input: process.stdin });
} else if (cmd === "inspect") {
  const { runInspect } = await import("../cli/inspect.ts");
  process.exitCode = await runInspect(rest, { out: (text) => console.log(text), err: (text) => console.error(text), env: process.env });
} else if (cmd === "--version") console.log(`storm ${packageVersion()}`);
else if (cmd === undefined || cmd === "help" || cmd === "--help" || cmd === "-h") console.log(USAGE);
else {
  console.error(`storm: unknown command "${cmd}"\n\n${USAGE}`);
  process.exitCode = EXIT.config;
}

async function serve(argv: string[]): Promise<void> {
  const args = cliOutcome(() => loadConfig(argv, process.env), SERVE_USAGE, "storm");
  if (typeof args === "number") {
    process.exitCode = args;
    return;
  }
  const { config: cfg, warnings } = args;
  if (!cfg) return;
  for (const w of warnings) console.error(`storm: warning: ${w}`);
  let node: RunningNode;
  try {
    // The data directory is taken before the rest of the node is even loaded: a second node on it exits at once.
    const lock = lockDataDir(cfg.dataDir);
    // Start-up's allocation would otherwise leave every heap's young generation at its largest, idle or not.
    const releaseYoungGeneration = holdYoungGeneration();
    const { startNode } = await import("../server/node.ts");
    node = await startNode(cfg, {
      // A node that lost its lease rejoins in place; only one that cannot (its actors would not
      // stop or start again) exits, to be restarted fresh.
      onLeaseLost: () => process.exit(EXIT.leaseLost),
      // Scripts and the test harness learn the new incarnation id as they learned the first.
      onRejoined: (id) => console.log(JSON.stringify({ event: "rejoined", node: id })),
    }, lock);
    releaseYoungGeneration();
  } catch (err) {
    if (!(err instanceof StartupError || err instanceof UsageError)) throw err;
    console.error(`storm: ${err.message}`);
    process.exit(err instanceof StartupError ? err.exitCode : EXIT.config);
  }
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
}
