#!/usr/bin/env node
// storm-load: Storm's load generator. Each scenario is a driver in bench/ that starts the target
// servers (Storm and its baselines), forks load processes bound to 127.0.0.2, .3, ... (open files
// are capped per process), prints a progress line per second and a result table, and writes a
// JSON result with --json. Options after the scenario go to its driver; the scenario's defaults
// apply where they are not given.
import { spawn } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cliOutcome, parseFlags } from "../../cli/cli_args.ts";

const EXT = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
const bench = join(dirname(fileURLToPath(import.meta.url)), "..", "bench");

interface Scenario {
  script: string;
  about: string;
  defaults: string[];
}

export const SCENARIOS: Record<string, Scenario> = {
  fanout: {
    script: "fanout_bench",
    about: "(a) one channel fanned out to 1,000 WebSocket subscribers",
    defaults: ["--subscribers", "1000", "--channels", "1", "--rate", "200"],
  },
  rooms: {
    script: "fanout_bench",
    about: "(b) 10,000 channels of 10 subscribers (10,000 connections in 10 channels each)",
    defaults: ["--subscribers", "10000", "--channels", "10000", "--per-conn", "10", "--rate", "5000",
      "--pub-procs", "2", "--load-procs", "4", "--warmup", "3"],
  },
  durable: {
    script: "durable_bench",
    about: "(c) publishes/s acknowledged after their commit to PostgreSQL, with ack latency",
    defaults: [],
  },
  conns: {
    script: "conns_bench",
    about: "(d) idle WebSocket connections held over several node processes, memory per connection",
    defaults: [],
  },
  cluster: {
    script: "fanout_bench",
    about: "(e) the fan-out of (a) with Storm as 3 cluster nodes (PostgreSQL + Hazelcast)",
    defaults: ["--subscribers", "1000", "--channels", "1", "--rate", "200", "--nodes", "3", "--warmup", "3"],
  },
  stormday: {
    script: "../stormday/stormday",
    about: "Storm Day: a ramp to 100,000 users over a cluster with six incidents, SLOs, an HTML report and a post-mortem (--quick: CI)",
    defaults: [],
  },
  suite: {
    script: "suite",
    about: "every scenario against its baselines; writes the ratios and a plot into BENCHMARKS.md",
    defaults: [],
  },
};

const USAGE = `storm-load: load generator and benchmark scenarios (all traffic on 127.0.0.0/8)

  storm-load <scenario> [options]     (npm run build first; or npx tsx tools/bin/storm-load.ts ...)
  storm-load --help | --version       storm-load <scenario> --help lists the scenario's options

${Object.entries(SCENARIOS).map(([name, s]) => `  ${name.padEnd(8)} ${s.about}${s.defaults.length ? `\n           defaults: ${s.defaults.join(" ")}` : ""}`).join("\n")}

Common options of fanout/rooms/cluster (bench/fanout_bench.ts has them all):
  --subscribers N --channels M --per-conn K   N connections, each in K of the M channels
  --rate R | --rate max [--window W]          offered publishes/s in total, or as fast as W unacked allow
  --ramp C        connections opened per second (0: as fast as they go)
  --duration S --warmup S --size BYTES --load-procs P --pub-procs Q
  --targets raw-batched,raw,socketio,storm    --json out.json
  --url ws://127.0.0.1:8080 [--server-pid PID] --targets storm   drive a running Storm instead`;

/** Driver arguments: the user's first (drivers take the first occurrence of a flag), then the defaults. */
export function driverArgs(s: Scenario, user: string[]): string[] {
  const out = [...user];
  for (let i = 0; i < s.defaults.length; i += 2) {
    const flag = s.defaults[i]!;
    if (!user.includes(flag)) out.push(flag, s.defaults[i + 1]!);
  }
  return out;
}

function main(argv: string[]): void {
  // storm-load's own flags come before the scenario; everything after it is the driver's, which
  // parses them strictly (`storm-load fanout --help` lists them).
  const at = argv.findIndex((a) => !a.startsWith("-"));
  const own = cliOutcome(() => parseFlags(at < 0 ? argv : argv.slice(0, at), {}), USAGE, "storm-load");
  if (typeof own === "number") {
    process.exitCode = own;
    return;
  }
  const [name, ...rest] = argv.slice(at);
  const s = name ? SCENARIOS[name] : undefined;
  if (!s) {
    if (name === undefined || name === "help") console.log(USAGE);
    else console.error(`storm-load: unknown scenario "${name}"\n\n${USAGE}`);
    process.exitCode = name === undefined || name === "help" ? 0 : 2;
    return;
  }
  const script = join(bench, s.script + EXT);
  if (!existsSync(script)) {
    console.error(`storm-load: ${script} is missing (run npm run build)`);
    process.exitCode = 2;
    return;
  }
  const child = spawn(process.execPath, [...process.execArgv, script, ...driverArgs(s, rest)], { stdio: "inherit" });
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => child.kill(sig));
  child.on("exit", (code, signal) => {
    process.exitCode = code ?? (signal ? 1 : 0);
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) main(process.argv.slice(2));
