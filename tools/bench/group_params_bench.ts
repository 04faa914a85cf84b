// The group statement's JSON parameters built two ways, alternately in one process: every string
// through `JSON.stringify` (the baseline, the builder before 2026-11-22 evening) and `groupParams`
// (what the store uses: strings that need no escaping are quoted as they are). Each build is
// followed by the UTF-8 encoding `pg` does when it sends the parameter. Reports µs per row and the
// ratio.
//
//   node dist-tools/tools/bench/group_params_bench.js [--appends 33] [--entries 6] [--body 100] [--rounds 10]
//
// The defaults are the groups of the durable bench's `c10` shape: ~33 appends of ~6 entries.
import { groupParams } from '../../storage/journal_append.ts';
import type { AppendRequest } from '../../storage/store.ts';
import { microReport } from './ab.ts';
import { flags } from './args.ts';

const { int, done } = flags(process.argv.slice(2));
const appends = int('appends', 33, 1);
const entries = int('entries', 6, 1);
const bodySize = int('body', 100, 0);
const rounds = int('rounds', 10, 2);
done('group statement parameters, JSON.stringify per string against groupParams: node dist-tools/tools/bench/group_params_bench.js [flags]');

function baseline(reqs: readonly AppendRequest[], which: readonly number[]): [string, string] {
  const heads: string[] = [];
  const rows: string[] = [];
  for (const i of which) {
    const r = reqs[i]!;
    heads.push(`{"i":${i},"a":${JSON.stringify(r.actorId)},"e":${r.epoch},"f":${r.entries[0]?.seq ?? null}}`);
    for (const e of r.entries) {
      rows.push(`{"i":${i},"s":${e.seq},"c":${JSON.stringify(e.clientId)},"u":${JSON.stringify(e.sender)},"b":${JSON.stringify(e.body)},"t":${e.ts}}`);
    }
  }
  return [`[${heads.join(",")}]`, `[${rows.join(",")}]`];
}

let seq = 0;
// Fresh strings per entry, as a parsed frame gives them.
const group = (): AppendRequest[] => Array.from({ length: appends }, (_, a) => ({
  actorId: `channel:room-${a}`, epoch: 1,
  entries: Array.from({ length: entries }, () => ({ seq: ++seq, clientId: `r1abc-${seq}-x7`, sender: `user-${a}`, body: 'x'.repeat(bodySize) + String(seq % 10), ts: Date.now() })),
}));
const groups = Array.from({ length: 100 }, group);
const which = groups[0]!.map((_, i) => i);
const perRow = groups.length * appends * entries;

function run(build: typeof groupParams): number {
  const t0 = process.hrtime.bigint();
  let bytes = 0;
  for (let rep = 0; rep < 20; rep++) {
    for (const g of groups) {
      const [h, r] = build(g, which);
      bytes += Buffer.byteLength(h) + Buffer.byteLength(r);
    }
  }
  if (bytes === 0) throw new Error('nothing built');
  return Number(process.hrtime.bigint() - t0) / 1e3 / (20 * perRow);
}

for (let i = 0; i < 3; i++) { run(baseline); run(groupParams); } // warm-up
const a: number[] = [];
const b: number[] = [];
for (let r = 0; r < rounds; r++) {
  a.push(run(baseline));
  b.push(run(groupParams));
}
console.log(`${appends} appends × ${entries} entries, body ${bodySize} B, ${rounds} rounds alternating; 2 shared cores: the figures move with whatever else runs`);
console.log(microReport('µs/row', { name: 'JSON.stringify per string', xs: a }, { name: 'groupParams', xs: b }));
