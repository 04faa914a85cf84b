import type { AppendRequest } from "./store.ts";

/**
 * The fence of a COPY append: takes each actor's epoch row `FOR SHARE` (in id order) and fails the
 * transaction unless every one holds the append's epoch. The failure is a division by zero, the
 * one error a plain statement can raise on a condition (the planner cannot fold it: the divisor
 * is an aggregate); the caller does not read it, any server error sends the group to the statement.
 */
export const FENCE_EPOCHS = `
  SELECT CASE WHEN count(*) = cardinality($1::text[]) THEN 0 ELSE 1 / (count(*) - count(*))::int END AS fenced
  FROM (SELECT 1 FROM actor_epochs a JOIN unnest($1::text[], $2::bigint[]) AS u(id, e)
        ON a.actor_id = u.id AND a.epoch = u.e ORDER BY a.actor_id FOR SHARE OF a) locked`;

export const COPY_JOURNAL = "COPY journal (actor_id, seq, client_id, sender, body, ts, epoch, kind, ref) FROM STDIN";

/** The name the fence is prepared under, once per connection (apart from the `pg` client's own names). */
export const FENCE_NAME = "storm_copy_fence";

/**
 * A text field of COPY's text format (backslash, tab, newline and carriage return escaped), or
 * undefined for text PostgreSQL cannot store: a NUL, or a lone UTF-16 surrogate, which UTF-8
 * encoding would silently replace (the statement's JSON refuses both, so the caller sends such a
 * group there, to be refused as before).
 */
export function copyField(s: string): string | undefined {
  if (!SPECIAL.test(s)) return s;
  if (!STORABLE.test(s)) return undefined;
  return s.replace(ESCAPED, (c) => COPY_ESCAPES[c]!);
}

const SPECIAL = /[\\\t\n\r\u0000\ud800-\udfff]/;
const STORABLE = /^(?:[^\u0000\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*$/;
const ESCAPED = /[\\\t\n\r]/g;
const COPY_ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };

/** The journal rows of `reqs` in COPY's text format, one line per entry; undefined if a text cannot be stored. */
export function copyRows(reqs: readonly AppendRequest[]): string | undefined {
  let out = "";
  for (const r of reqs) {
    const actor = copyField(r.actorId);
    if (actor === undefined) return undefined;
    const epoch = `\t${r.epoch}\t`;
    for (const e of r.entries) {
      const clientId = copyField(e.clientId);
      const sender = copyField(e.sender);
      const body = copyField(e.body);
      if (clientId === undefined || sender === undefined || body === undefined) return undefined;
      // A kind is one of ENTRY_KINDS (nothing to escape); `\N` is COPY's null.
      out += `${actor}\t${e.seq}\t${clientId}\t${sender}\t${body}\t${e.ts}${epoch}${e.kind ?? "msg"}\t${e.ref ?? "\\N"}\n`;
    }
  }
  return out;
}

/** A PostgreSQL array literal of text values (each quoted, `"` and `\` escaped). */
export function textArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(",")}}`;
}

/** The part of a `pg` connection a submittable writes to (extended-protocol messages). */
interface PgConnection {
  parse(msg: { name: string; text: string; types: unknown[] }): void;
  bind(msg: { statement?: string; values: unknown[] }): void;
  execute(msg: Record<string, never>): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sync(): void;
}

/** A named statement run before the COPY, in its transaction; `parse` on its first use on a connection. */
export interface CopyStep {
  name: string;
  text: string;
  values: unknown[];
  parse: boolean;
}

/** The fence of `reqs` as the step before their COPY. */
export function fenceStep(reqs: readonly AppendRequest[], parse: boolean): CopyStep {
  return { name: FENCE_NAME, text: FENCE_EPOCHS, values: [textArray(reqs.map((r) => r.actorId)), `{${reqs.map((r) => r.epoch).join(",")}}`], parse };
}

/**
 * Named statements (the store sends one: the fence), then `copy` (`COPY … FROM STDIN`) with
 * `rows`, written to one connection at once (extended protocol: Bind/Execute of each step,
 * Parse/Bind/Execute of the COPY, CopyData, CopyDone, Sync). Everything up to Sync is one implicit
 * transaction, committed at Sync: a stale epoch or a duplicate key aborts all of it, and the
 * server discards what follows the error up to Sync (CopyData included). One round trip, as the
 * group statement. COPY writes a page of rows at a time (`heap_multi_insert`), which costs
 * PostgreSQL ~2–3 µs less per row than the statement's `INSERT … SELECT` (`journal_shape_bench`,
 * `copy+check`).
 *
 * A `pg` submittable (`client.query(submittable)`): `done` resolves on ReadyForQuery, when the
 * transaction committed, and rejects with the first error (the server's, severity ERROR: nothing
 * committed; or the connection's: unknown).
 */
export class CopyIn {
  readonly done: Promise<void>;
  #settle!: (err?: unknown) => void;

  constructor(
    private readonly steps: readonly CopyStep[],
    private readonly copy: string,
    /** The rows in COPY's text format (`copyRows`). */
    private readonly rows: string,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.#settle = (err) => (err === undefined ? resolve() : reject(err));
    });
  }

  submit(c: PgConnection): void {
    for (const step of this.steps) {
      if (step.parse) c.parse({ name: step.name, text: step.text, types: [] });
      c.bind({ statement: step.name, values: step.values });
      c.execute({});
    }
    c.parse({ name: "", text: this.copy, types: [] });
    c.bind({ values: [] });
    c.execute({});
    c.sendCopyFromChunk(Buffer.from(this.rows));
    c.endCopyFrom();
    c.sync();
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleCommandComplete(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  /** The rows were written with the request; the server's invitation needs no answer. */
  handleCopyInResponse(): void {}
  handleCopyData(): void {}
  handleError(err: unknown): void {
    this.#settle(err ?? new Error("COPY failed"));
  }
  handleReadyForQuery(): void {
    this.#settle();
  }
}
