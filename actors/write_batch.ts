import type { Envelope } from "../runtime/core/actor.ts";
import type { JournalEntry } from "../storage/store.ts";
import type { PublishAck } from "./messages.ts";

/** One entry to journal and the envelope to answer with its seq (a publish, or a change). */
export interface Write {
  env: Envelope;
  user: string;
  clientId: string;
  body: string;
  kind?: JournalEntry["kind"];
  ref?: number;
}

/** The entries of `writes`, numbered from `first`, committed at `ts`; a plain message has no kind or ref. */
export function entriesOf(writes: readonly Write[], first: number, ts: number): JournalEntry[] {
  return writes.map((w, i) => {
    const e: JournalEntry = { seq: first + i, clientId: w.clientId, sender: w.user, body: w.body, ts };
    if (w.kind !== undefined && w.kind !== "msg") e.kind = w.kind;
    if (w.ref !== undefined) e.ref = w.ref;
    return e;
  });
}

/** Two writes with one client id in one batch: the second waits for the first's seq. */
export function dedupeWithinBatch(pending: Write[]): Write[] {
  const seen = new Map<string, Envelope[]>();
  const unique: Write[] = [];
  for (const w of pending) {
    const twins = seen.get(w.clientId);
    if (twins) twins.push(w.env);
    else {
      seen.set(w.clientId, []);
      unique.push(w);
    }
  }
  if (unique.length === pending.length) return pending;
  return unique.map((w) => {
    const first = w.env;
    const twins = seen.get(w.clientId)!;
    if (twins.length === 0) return w;
    const reply = first.reply.bind(first);
    const env: Envelope = { msg: first.msg, get replied() { return first.replied; }, fail: first.fail.bind(first), reply(v: unknown) {
      reply(v);
      for (const t of twins) t.reply({ ...(v as PublishAck), duplicate: true });
    } };
    return { ...w, env };
  });
}
