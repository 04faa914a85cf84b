// A channel's window of recent client ids kept two ways, alternately in one process: a `Map` with
// an arrival-order ring (the baseline, what `RecentHistory` did before 2026-11-22) and `IdWindow`
// (what it does now). Each publish does what the channel actor does with it: one lookup (is it a
// retry?), then one insert once committed, which past a full window drops the oldest id.
// Reports µs per publish and the ratio.
//
//   node dist-tools/tools/bench/id_window_bench.js [--channels 100] [--window 20000] [--batch 6] [--rounds 8]
//
// The defaults are the durable bench's `c10` shape: 100 channels, the default window.
import { IdWindow } from '../../actors/id_window.ts';
import { microReport } from './ab.ts';
import { flags } from './args.ts';

const { int, done } = flags(process.argv.slice(2));
const channels = int('channels', 100, 1);
const window = int('window', 20_000, 1);
const batch = int('batch', 6, 1);
const rounds = int('rounds', 8, 2);
done('client id window, Map + ring against IdWindow: node dist-tools/tools/bench/id_window_bench.js [flags]');

interface Window { get(id: string): number | undefined; set(id: string, seq: number): void }

/** The baseline: `RecentHistory`'s former `#ids` / `#idOrder` / `#idHead`. */
class MapWindow implements Window {
  #ids = new Map<string, number>();
  #order: string[] = [];
  #head = 0;
  constructor(readonly capacity: number) {}
  get(id: string): number | undefined {
    return this.#ids.get(id);
  }
  set(id: string, seq: number): void {
    const size = this.#ids.size;
    this.#ids.set(id, seq);
    if (this.#ids.size === size) return;
    if (this.#order.length < this.capacity) {
      this.#order.push(id);
      return;
    }
    this.#ids.delete(this.#order[this.#head]!);
    this.#order[this.#head] = id;
    this.#head = (this.#head + 1) % this.capacity;
  }
}

const PER_RUN = 200_000;
let next = 0;

/** One run over `ws`: PER_RUN publishes in batches, round robin over the channels; µs per publish. */
function run(ws: Window[], seqs: number[]): number {
  // Fresh strings, as structured clone gives the worker; built before the clock starts.
  const ids = Array.from({ length: PER_RUN }, () => `r1abc-${next % 10}-${next++}`);
  const t0 = process.hrtime.bigint();
  let dups = 0;
  for (let k = 0; k < PER_RUN; k += batch) {
    const c = (k / batch) % channels;
    const w = ws[c]!;
    const end = Math.min(PER_RUN, k + batch);
    for (let i = k; i < end; i++) if (w.get(ids[i]!) !== undefined) dups++;
    for (let i = k; i < end; i++) w.set(ids[i]!, ++seqs[c]!);
  }
  if (dups !== 0) throw new Error(`${dups} fresh ids found in a window`);
  return Number(process.hrtime.bigint() - t0) / 1e3 / PER_RUN;
}

const sides = {
  'Map + ring': { ws: Array.from({ length: channels }, (): Window => new MapWindow(window)), seqs: new Array<number>(channels).fill(0) },
  IdWindow: { ws: Array.from({ length: channels }, (): Window => new IdWindow(window)), seqs: new Array<number>(channels).fill(0) },
};
// Warm-up until every window is full (and then some), so the rounds measure the steady state.
for (let filled = 0; filled < channels * window * 1.5; filled += PER_RUN) for (const s of Object.values(sides)) run(s.ws, s.seqs);
const times = new Map<string, number[]>(Object.keys(sides).map((k) => [k, []]));
for (let r = 0; r < rounds; r++) for (const [k, s] of Object.entries(sides)) times.get(k)!.push(run(s.ws, s.seqs));

console.log(`${channels} channels × window ${window}, batches of ${batch}, ${rounds} rounds alternating; 2 shared cores: the figures move with whatever else runs`);
console.log(microReport('µs/publish', { name: 'Map + ring', xs: times.get('Map + ring')! }, { name: 'IdWindow', xs: times.get('IdWindow')! }));
