// What a subscriber of the load generator spends reading one delivery, per wire form, alternately
// in one process: Storm's default `msgs` frames, its compact frames (both built by the server's own
// encoders, `edge/frames.ts`, with the fan-out bench's sender, client ids and bodies), and the raw
// baselines' newline-joined bodies. Each scanner checks the seqs and reads the send time, as the
// load processes do. Tells how much of the load's CPU per delivery in scenario (a) is the scanning
// of each form, apart from receiving its bytes.
//
//   node dist-tools/tools/bench/scan_bench.js [--rows 190] [--messages 2000] [--rounds 6]
import type { JournalEntry } from '../../storage/store.ts';
import { compactMsgsFrame, msgsFrame } from '../../edge/frames.ts';
import { spread } from './ab.ts';
import { flags } from './args.ts';
import { parseBodies, scanStormCompact, scanStormMsgs } from './fanout_clients.ts';
import { Sub, type Sink } from './fanout_sub.ts';
import { channelName, makeBody } from './fanout_common.ts';

const { int, done } = flags(process.argv.slice(2));
const rows = int('rows', 190, 1);
const messages = int('messages', 2000, 10);
const rounds = int('rounds', 6, 1);
done("the load's CPU per delivery scanning each wire form: node dist-tools/tools/bench/scan_bench.js [flags]");

const sink: Sink = { onMsg() {}, onWire() {} };
const runId = 'bmhz3k2x1';
const ch = channelName(0, 1);

/** One WebSocket message's worth of consecutive messages, as the fan-out bench publishes them. */
function batch(first: number): JournalEntry[] {
  return Array.from({ length: rows }, (_, i) => ({
    seq: first + i, clientId: `${runId}-0-${first + i}`, sender: `bench-pub-${runId}-0`,
    body: makeBody(first + i, 1_795_267_560_693_123 + i, 0, 100), ts: 1_795_267_560_693,
  }));
}

const forms: Array<{ name: string; bufs: Buffer[]; scan: (b: Buffer, s: Sub) => boolean }> = [
  { name: 'default msgs', bufs: [], scan: (b, s) => scanStormMsgs(b, s, 0) },
  { name: 'compact msgs', bufs: [], scan: (b, s) => scanStormCompact(b, s, 0) },
  { name: 'raw bodies', bufs: [], scan: (b, s) => (parseBodies(b, 0, s, 0), true) },
];
for (let k = 0; k < messages; k++) {
  const entries = batch(1 + k * rows);
  forms[0]!.bufs.push(Buffer.from(msgsFrame(ch, entries)));
  forms[1]!.bufs.push(Buffer.from(compactMsgsFrame(ch, entries)));
  forms[2]!.bufs.push(Buffer.from(entries.map((e) => e.body).join('\n')));
}

const ns: number[][] = forms.map(() => []);
for (let r = 0; r < rounds + 1; r++) {
  for (let f = 0; f < forms.length; f++) {
    const form = forms[(f + r) % forms.length]!;
    const sub = new Sub(sink, [0]);
    const t0 = process.hrtime.bigint();
    for (const b of form.bufs) if (!form.scan(b, sub)) throw new Error(`${form.name}: a message was not read`);
    const perDelivery = Number(process.hrtime.bigint() - t0) / (messages * rows);
    if (sub.exp[0] !== messages * rows + 1 || sub.gaps + sub.reorders + sub.badFrames > 0) throw new Error(`${form.name}: deliveries misread`);
    if (r > 0) ns[forms.indexOf(form)]!.push(perDelivery); // round 0 warms the JIT
  }
}

console.log(`the load's scan of one delivery, ${rows} per WebSocket message, ${rounds} rounds (2 shared cores)`);
console.log('| form | bytes per delivery | ns per delivery, mean [min–max] |');
console.log('|---|---:|---:|');
forms.forEach((form, i) => {
  const { mean, min, max } = spread(ns[i]!);
  const bytes = form.bufs[0]!.length / rows;
  console.log(`| ${form.name} | ${bytes.toFixed(1)} | ${mean.toFixed(1)} [${min.toFixed(1)}–${max.toFixed(1)}] |`);
});
