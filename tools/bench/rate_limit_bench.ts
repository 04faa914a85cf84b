// The rate limits' cost on the publish path: what the dispatcher runs per publish with the default
// limits on (`RateLimits.publish`: the connection's bucket, then the user's, each refilled from the
// clock) against the same loop with limits off, alternately in one process. The publishes come
// round robin from `--conns` connections of `--users` users (the durable bench's shape: 100 and
// 100). The loop publishes faster than any real limit allows, so the rates are raised until
// nothing is refused: a refusal throws, and would measure that instead. Reports µs per publish, the difference, and that difference against the server's CPU per
// publish measured in BENCHMARKS.md (`--server-us`, default 13.5: the lowest of the suite's `c`).
//
//   node dist-tools/tools/bench/rate_limit_bench.js [--users 100] [--conns 100] [--rounds 8] [--server-us 13.5]
import { type LimitedConnection, RateLimits } from '../../edge/rate_limits.ts';
import { systemClock } from '../../runtime/platform/system_clock.ts';
import { microReport } from './ab.ts';
import { flags } from './args.ts';

const { int, num, done } = flags(process.argv.slice(2));
const users = int('users', 100, 1);
const conns = int('conns', 100, 1);
const rounds = int('rounds', 8, 2);
const serverUs = num('server-us', 13.5);
done('rate limits on the publish path: node dist-tools/tools/bench/rate_limit_bench.js [flags]');

// Limits high enough that nothing is refused: a refusal would throw and measure something else.
const huge = { count: 1e12, perMs: 1_000 };
const on = new RateLimits({ apiUser: huge, requestUser: huge, requestIp: huge, publishUser: huge, publishConn: huge, connectIp: huge, connectUser: huge }, systemClock);
const off = new RateLimits({ apiUser: undefined, requestUser: undefined, requestIp: undefined, publishUser: undefined, publishConn: undefined, connectIp: undefined, connectUser: undefined }, systemClock);

const names = Array.from({ length: users }, (_, i) => `user-${i}`);
const connsOn: LimitedConnection[] = Array.from({ length: conns }, () => ({ lastSeen: 0 }));
const connsOff: LimitedConnection[] = Array.from({ length: conns }, () => ({ lastSeen: 0 }));

const PER_RUN = 2_000_000;

function run(limits: RateLimits, cs: LimitedConnection[]): number {
  // The edge stamps each connection's message time as it reads it (one clock read per message
  // either way): here a time moving 1 ms per 1,000 publishes, set on both sides alike.
  let now = Date.now();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < PER_RUN; i++) {
    const c = i % conns;
    if (i % 1_000 === 0) now++;
    cs[c]!.lastSeen = now;
    limits.publish(names[c % users]!, cs[c]);
  }
  return Number(process.hrtime.bigint() - t0) / 1e3 / PER_RUN;
}

for (let i = 0; i < 3; i++) {
  run(off, connsOff);
  run(on, connsOn);
}
const a: number[] = [];
const b: number[] = [];
for (let r = 0; r < rounds; r++) {
  if (r % 2 === 0) {
    a.push(run(off, connsOff));
    b.push(run(on, connsOn));
  } else {
    b.push(run(on, connsOn));
    a.push(run(off, connsOff));
  }
}
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const extra = mean(b) - mean(a);
console.log(`${conns} connections of ${users} users, ${rounds} rounds alternating; 2 shared cores: the figures move with whatever else runs`);
console.log(microReport('µs/publish', { name: 'limits off', xs: a }, { name: 'limits on', xs: b }));
console.log(`added per publish: ${(extra * 1000).toFixed(1)} ns = ${((extra / serverUs) * 100).toFixed(2)} % of ${serverUs} µs (the server's CPU per publish, BENCHMARKS.md c)`);
