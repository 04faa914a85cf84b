// The HTTP transports against WebSocket, in one run on one Storm node (a child process):
//  fan-out  one channel -> `--subscribers` subscribers, over WebSocket and then over SSE, a
//           publisher at `--rate` messages/s for `--duration` s each: deliveries/s and the
//           publish-to-deliver latency (p50, p99) as the subscribers read it;
//  poll     `--pollers` long-poll clients looping `GET /poll` on one channel (each answer's `pos`
//           is the next request's position) while the publisher runs: polls answered/s,
//           deliveries/s, p99 latency.
// Every client runs in this one process (2 shared cores with the server: a figure is what both
// got, not the server alone). Rate limits are off in the server: this measures throughput.
//
//   node dist-tools/tools/bench/http_transports_bench.js [--subscribers 1000] [--pollers 100]
//        [--rate 200] [--duration 10] [--storm-bin dist/bin/storm.js] [--json out.json]
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { flags } from './args.ts';
import { freePort, makeTempDir, startServer, waitHttp } from './fanout_procs.ts';
import fs from 'node:fs';

const { int, get, done } = flags(process.argv.slice(2));
const subscribers = int('subscribers', 1_000, 1);
const pollers = int('pollers', 100, 1);
const rate = int('rate', 200, 1);
const duration = int('duration', 10, 1);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const stormBin = path.resolve(get('storm-bin', path.join(repoRoot, 'dist/bin/storm.js')));
const jsonOut = get('json', '');
done('fan-out over WebSocket and SSE, long-poll throughput: node dist-tools/tools/bench/http_transports_bench.js [flags]');

/** Latencies in µs, and deliveries, of one measured phase. */
class Tally {
  readonly lat: number[] = [];
  delivered = 0;
  add(sentMs: number): void {
    this.delivered++;
    this.lat.push((performance.now() - sentMs) * 1000);
  }
  summary(seconds: number) {
    const s = [...this.lat].sort((a, b) => a - b);
    const q = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! / 1000 : NaN);
    return { deliveredPerS: Math.round(this.delivered / seconds), p50Ms: +q(0.5).toFixed(2), p99Ms: +q(0.99).toFixed(2) };
  }
}

const tmp = makeTempDir('storm-http-bench-');
const port = await freePort();
const server = startServer(process.execPath, [stormBin, 'serve', '--port', String(port), '--data-dir', path.join(tmp, 'data'), '--workers', '1'],
  { ...process.env, STORM_RATE_LIMITS: 'off' }, path.join(tmp, 'server.log'));
await waitHttp(port, 120_000, server);
const base = `http://127.0.0.1:${port}`;
const post = async (p: string, body: unknown, token?: string) => {
  const r = await fetch(base + p, { method: 'POST', body: JSON.stringify(body), headers: token ? { authorization: `Bearer ${token}` } : {} });
  return r.json() as Promise<any>;
};
const token = (await post('/auth/dev-token', { user: 'bench' })).token as string;
let channels = 0;

/** A channel and a WebSocket publisher on it, publishing `rate`/s with its send time as body. */
async function publisherOn(ch: string) {
  await post('/channels', { name: ch }, token);
  const ws = new WebSocket(`${base.replace('http', 'ws')}/ws?token=${token}`);
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  let n = 0;
  let timer: NodeJS.Timeout | undefined;
  return {
    start() {
      const t0 = performance.now();
      timer = setInterval(() => {
        const due = Math.floor(((performance.now() - t0) / 1000) * rate);
        const frames = [];
        for (; n < due; n++) frames.push({ t: 'pub', id: n + 1, ch, cid: `c${n}`, body: String(performance.now()) });
        if (frames.length) ws.send(JSON.stringify(frames));
      }, 5);
    },
    stop() { clearInterval(timer); ws.close(); },
  };
}

const msgsOf = (f: any, tally: Tally) => {
  if (f.t === 'msgs') for (const m of f.m) tally.add(Number(m.body));
};

async function fanout(kind: 'websocket' | 'sse') {
  const ch = `fan-${kind}-${channels++}`;
  const pub = await publisherOn(ch);
  const tally = new Tally();
  let live = false;
  let ready = 0;
  const closers: Array<() => void> = [];
  await new Promise<void>((resolve, reject) => {
    const onReady = () => { if (++ready === subscribers) resolve(); };
    for (let i = 0; i < subscribers; i++) {
      if (kind === 'websocket') {
        const ws = new WebSocket(`${base.replace('http', 'ws')}/ws?token=${token}`);
        ws.on('error', reject);
        ws.on('open', () => ws.send(JSON.stringify({ t: 'sub', id: 1, ch })));
        ws.on('message', (d: Buffer) => {
          for (const f of [JSON.parse(d.toString('utf8'))].flat()) {
            if (f.t === 'subbed') onReady();
            else if (live) msgsOf(f, tally);
          }
        });
        closers.push(() => ws.terminate());
      } else {
        const req = http.get(`${base}/sse?ch=${ch}:0&token=${token}`, { agent: false }, (res) => {
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buf += chunk;
            let end: number;
            while ((end = buf.indexOf('\n\n')) >= 0) {
              const event = buf.slice(0, end);
              buf = buf.slice(end + 2);
              const data = event.split('\n').find((l) => l.startsWith('data: '));
              if (!data) continue;
              const f = JSON.parse(data.slice(6));
              if (f.t === 'subbed') onReady();
              else if (live) msgsOf(f, tally);
            }
          });
        });
        req.on('error', reject);
        closers.push(() => req.destroy());
      }
    }
  });
  live = true;
  pub.start();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, duration * 1000));
  pub.stop();
  const seconds = (performance.now() - t0) / 1000;
  for (const c of closers) c();
  return { transport: kind, subscribers, offeredPerS: rate, ...tally.summary(seconds) };
}

async function longPoll() {
  const ch = `poll-${channels++}`;
  const pub = await publisherOn(ch);
  const tally = new Tally();
  let polls = 0;
  let stop = false;
  const agent = new http.Agent({ keepAlive: true, maxSockets: pollers });
  const get = (pos: string) => new Promise<any>((resolve, reject) => {
    http.get(`${base}/poll?ch=${encodeURIComponent(pos)}&wait=25&token=${token}`, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject);
  });
  // Each poller starts at the channel's end, so it measures live traffic, not a catch-up.
  const loops = Array.from({ length: pollers }, async () => {
    let pos = `${ch}:0`;
    while (!stop) {
      const r = await get(pos);
      polls++;
      for (const f of r.frames) msgsOf(f, tally);
      pos = r.pos;
    }
  });
  pub.start();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, duration * 1000));
  stop = true;
  pub.stop();
  const seconds = (performance.now() - t0) / 1000;
  const result = { transport: 'long-poll', pollers, offeredPerS: rate, pollsPerS: Math.round(polls / seconds), ...tally.summary(seconds) };
  // Publish once more so every waiting poll answers and its loop ends.
  await post(`/channels/${ch}/messages`, { clientId: 'end', body: String(performance.now()) }, token);
  await Promise.all(loops);
  agent.destroy();
  return result;
}

const results = [await fanout('websocket'), await fanout('sse'), await longPoll()];
await server.stop();
console.log(`one node (1 actor worker), clients in one process, 2 shared cores; ${duration} s per phase`);
for (const r of results) console.log(JSON.stringify(r));
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ at: new Date().toISOString(), results }, null, 2));
