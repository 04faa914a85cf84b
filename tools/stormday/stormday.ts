#!/usr/bin/env node
// storm-load stormday: runs one Storm Day (day_run.ts) and writes its report, post-mortem skeleton
// and JSON result. Progress goes to stderr; the verdicts to stdout.
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { cliOutcome } from "../../cli/cli_args.ts";
import { parseDayArgs, USAGE } from "./day_options.ts";
import { runDay, writeDay } from "./day_run.ts";

async function main(argv: string[]): Promise<number> {
  const o = cliOutcome(() => parseDayArgs(argv, join(tmpdir(), `storm-day-${new Date().toISOString().replace(/[:.]/g, "-")}`)), USAGE, "storm-load stormday");
  if (typeof o === "number") return o;
  o.out = resolve(o.out);
  mkdirSync(o.out, { recursive: true });
  const start = Date.now();
  const log = (line: string) => process.stderr.write(`[stormday +${((Date.now() - start) / 1000).toFixed(0)}s] ${line}\n`);
  log(`${o.connections} connections, ${o.nodes} nodes, ${o.loadProcs} load processes, ramp ${o.rampS} s, steady ${o.steadyS} s, ${o.rate} publishes/s; out ${o.out}`);
  try {
    const r = await runDay(o, log);
    await writeDay(r, o.out);
    for (const v of r.verdicts) process.stdout.write(`${v.ok ? "ok  " : v.hard ? "FAIL" : "miss"} ${v.name}: ${v.measured} (target ${v.target})\n`);
    for (const i of r.impacts) {
      process.stdout.write(`incident ${i.kind.padEnd(9)} at ${(i.atMs / 1000).toFixed(1)} s: stall ${(i.stallMs / 1000).toFixed(0)} s, dropped ${i.dropped}, ` +
        `failed connects ${i.failedConnects}, publish errors ${i.pubErrors}; ${i.outcome}\n`);
    }
    process.stdout.write(`report: ${join(o.out, "report.html")}\npost-mortem: ${join(o.out, "postmortem.md")}\n`);
    if (!r.ok) return 1;
    return o.strict && r.verdicts.some((v) => !v.ok) ? 1 : 0;
  } catch (err) {
    log(`the run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 2;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exit(await main(process.argv.slice(2)));
