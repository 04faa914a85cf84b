// Connections benchmark, scenario (d): as many idle WebSocket connections as the machine holds,
// across several server processes, with the server memory each one costs. Storm is measured
// against a raw `ws` server, Socket.IO and Centrifugo (independent processes, memory engine;
// skipped when Go is absent) holding the same connections, in the same run.
//
//   node dist-tools/tools/bench/conns_bench.js [--connections 2000] [--nodes 2] [--load-procs 2] [--ramp 0]
//        [--hold 5] [--targets raw,socketio,centrifugo,storm] [--json out.json] [--mode cluster|standalone]
//        [--storm-workers 1] [--lease-ms 3000] [--concurrency 128] [--settle 3] [--connect-timeout 600]
//        [--storm-bin dist/bin/storm.js] [--server-node-args "--max-old-space-size=..."] [--stop-grace 3]
//   (or: npx tsx bench/conns_bench.ts ...)
//
// Per target: --nodes server processes (each its own process group, each on its own port);
// --load-procs load processes, process i on source address 127.0.0.(2+i), each spreading its
// connections round-robin over the servers. --ramp is the total connects/s (0: as fast as
// --concurrency handshakes in flight per load process allow). Storm runs as a real cluster
// (PostgreSQL + a Hazelcast member, shared JWT secret, given by STORM_JWT_SECRET: the load processes sign HS256 tokens
// themselves); --mode standalone runs N independent nodes on PostgreSQL instead.
// Memory per connection = (sum of the server processes' RSS once all are connected and settled -
// the same before the first connection) / connections.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from './conns_common.ts';
import { parseConnsArgs } from './conns_options.ts';
import { connsTable, fmt, type ConnsResult } from './conns_report.ts';
import { runTarget } from './conns_run.ts';

async function main(): Promise<void> {
  const o = parseConnsArgs(process.argv.slice(2));
  const log = (s: string) => process.stdout.write(s + '\n');
  const cmd = `node ${path.relative(process.cwd(), fileURLToPath(import.meta.url))} ${process.argv.slice(2).join(' ')}`.trim();
  if (o.targets.includes('storm') && !fs.existsSync(o.stormBin)) throw new Error(`${o.stormBin} not found: run npm run build first`);
  log(`connections benchmark: ${fmt(o.connections)} idle WebSocket connections over ${o.nodes} server processes, from ${o.loadProcs} load processes ` +
    `(127.0.0.2..${o.loadProcs + 1}), ramp ${o.ramp > 0 ? `${fmt(o.ramp)}/s` : 'max'}, hold ${o.hold} s; storm: ${o.mode}, ${o.stormWorkers} actor worker(s) per node, lease ${o.leaseMs} ms` +
    (o.serverNodeArgs.length ? `; server node args: ${o.serverNodeArgs.join(' ')}` : ''));
  log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}; ` +
    'servers, load generator (and PostgreSQL, Hazelcast) share these cores');
  const results: ConnsResult[] = [];
  for (const t of o.targets) {
    log(`[${t}]`);
    const r = await runTarget(t, o, log);
    if (r.skipped) log(`  skipped: ${r.skipped}`);
    if (r.aborted) log(`  ABORTED: ${r.aborted}`);
    if (r.error) log(`  FAILED (${fmt(r.connectedBeforeFailure ?? 0)} connected before): ${r.error}`);
    results.push(r);
    await sleep(1000); // let the previous target's sockets close (TIME_WAIT is on the client side: other ports)
  }
  log('');
  log(connsTable(results));
  log('(KB/conn = server RSS growth from before the first connection to all connected and settled (--settle s), / connections;');
  log(' KB/conn end of hold = the same growth at the end of the --hold s idle period, / connections still held;');
  log(' CPU% = % of one core: srv = server processes, load = load processes, svc = PostgreSQL + Hazelcast, other = everything else incl. this driver;\n CPU ms/conn = CPU time while connecting / connections: servers, PostgreSQL, Hazelcast)');
  const storm = results.find((r) => r.target === 'storm' && !r.error);
  const ratios: Record<string, number> = {};
  for (const b of results) {
    if (!storm || b === storm || b.error || b.skipped || b.kbPerConn <= 0) continue;
    ratios[`storm/${b.target} KB per conn`] = storm.kbPerConn / b.kbPerConn;
    if (b.kbPerConnIdle > 0) ratios[`storm/${b.target} KB per conn, end of hold`] = storm.kbPerConnIdle / b.kbPerConnIdle;
  }
  for (const [k, v] of Object.entries(ratios)) log(`${k}: ${fmt(v, 2)}`);
  if (o.json) {
    const out = {
      command: cmd, date: new Date().toISOString(), node: process.version,
      machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, memGiB: os.totalmem() / 2 ** 30 },
      caveat: 'servers, load generator, PostgreSQL and Hazelcast share the same 2 cores',
      params: o, results, ratios,
    };
    fs.writeFileSync(o.json, JSON.stringify(out, null, 2) + '\n');
    log(`wrote ${o.json}`);
  }
  process.exitCode = results.some((r) => !r.skipped && (r.error || r.aborted || r.held < o.connections)) ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
