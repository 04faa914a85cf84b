// The thread hop of a publish and its ack, two ways, alternately in one process: frames as an
// array each with the publish and the ack as keyed objects (the baseline, the wire before
// 2026-11-22 noon), and the flat batch with `actorsWireCodec`'s compact forms (what the runtime
// uses). Each round sends batches of publishes to a worker thread, which decodes them and answers
// each with an ack in one batch, which this thread decodes. Reports CPU µs (both threads) per
// publish and its ack, and the ratio.
//
//   node dist-tools/tools/bench/hop_bench.js [--batch 64] [--batches 4000] [--body 100] [--rounds 6]
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { actorsWireCodec as codec } from '../../actors/wire_codec.ts';
import { Op } from '../../runtime/core/wire.ts';
import { microReport } from './ab.ts';
import { flags } from './args.ts';

type Mode = 'objects' | 'flat';
const sink: unknown[] = [];

/** The worker's side: read a batch of publishes, answer each with its ack. */
function answer(mode: Mode, batch: unknown[]): unknown[] {
  const out: unknown[] = [];
  if (mode === 'objects') {
    for (const f of batch as Array<[number, string, { clientId: string }, number]>) {
      sink[0] = f[2].clientId;
      out.push([Op.Reply, f[3], true, { seq: f[3] + 1, duplicate: false }]);
    }
  } else {
    for (let i = 0; i < batch.length; i += 4) {
      const msg = batch[i] === (Op.Ask | Op.Coded) ? codec.decode(batch[i + 2]) : batch[i + 2];
      sink[0] = (msg as { clientId: string }).clientId;
      const reqId = batch[i + 3] as number;
      out.push(Op.Reply | Op.Coded, reqId, codec.encode({ seq: reqId + 1, duplicate: false }));
    }
  }
  return out;
}

if (!isMainThread) {
  const mode = workerData as Mode;
  parentPort!.on('message', (b: unknown[]) => parentPort!.postMessage(answer(mode, b)));
} else {
  const { int, done } = flags(process.argv.slice(2));
  const batch = int('batch', 64, 1);
  const batches = int('batches', 4000, 10);
  const bodySize = int('body', 100, 0);
  const rounds = int('rounds', 6, 2);
  done('a publish and its ack across the thread hop, keyed objects against the flat coded batch: node dist-tools/tools/bench/hop_bench.js [flags]');

  const body = 'x'.repeat(bodySize);
  let next = 0;
  /** A batch of publishes as the edge sends it (fresh strings, as parsed frames give them). */
  const publishes = (mode: Mode): unknown[] => {
    const out: unknown[] = [];
    for (let i = 0; i < batch; i++) {
      const id = ++next;
      const msg = { type: 'publish', user: `user-${i % 10}`, clientId: `r1abc-${id}-x7`, body: body + String(id % 10) };
      if (mode === 'objects') out.push([Op.Ask, `channel:room-${i % 10}`, msg, id]);
      else out.push(Op.Ask | Op.Coded, `channel:room-${i % 10}`, codec.encode(msg), id);
    }
    return out;
  };
  const readReplies = (mode: Mode, b: unknown[]): void => {
    if (mode === 'objects') for (const f of b as Array<[number, number, boolean, unknown]>) sink[0] = f[3];
    else for (let i = 0; i < b.length; i += 3) sink[0] = codec.decode(b[i + 2]);
  };

  const run = async (mode: Mode): Promise<number> => {
    const w = new Worker(new URL(import.meta.url), { workerData: mode });
    const t0 = process.cpuUsage();
    await new Promise<void>((resolve) => {
      let n = 0;
      w.on('message', (b: unknown[]) => {
        readReplies(mode, b);
        if (++n === batches) resolve();
        else w.postMessage(publishes(mode));
      });
      w.postMessage(publishes(mode));
    });
    const cpu = process.cpuUsage(t0);
    await w.terminate();
    return (cpu.user + cpu.system) / (batches * batch);
  };

  const xs: Record<Mode, number[]> = { objects: [], flat: [] };
  for (let r = 0; r < rounds; r++) {
    for (const mode of (r % 2 === 0 ? ['objects', 'flat'] : ['flat', 'objects']) as Mode[]) xs[mode].push(await run(mode));
  }
  console.log(`a publish and its ack across the thread hop, batches of ${batch}, ${bodySize} B bodies, ${rounds} rounds (2 shared cores)`);
  console.log(microReport('µs CPU per publish', { name: 'objects', xs: xs.objects }, { name: 'flat + codec', xs: xs.flat }));
}
