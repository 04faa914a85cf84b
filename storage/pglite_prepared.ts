import { protocol, types } from "@electric-sql/pglite";
import type { PGlite } from "@electric-sql/pglite";
import type { SqlRow } from "./sql_client.ts";

/** Most statement texts kept prepared; any further text runs unprepared (`PGlite.query`). */
const MAX_PREPARED = 64;

interface Field {
  name: string;
  dataTypeID: number;
}

interface Prepared {
  name: string;
  fields: readonly Field[];
}

/**
 * Runs statements on PGlite as named prepared statements, each parsed and described once.
 *
 * Why: `PGlite.query` sends an unnamed Parse, Describe, Bind, Describe, Execute and Sync as six
 * calls into the WebAssembly backend, and PostgreSQL parses and plans the text every time. For the
 * group-commit statement that was ~1 ms of a 100-row append's 2.8 ms, and most of a 4-row one
 * (`npm run bench:pglite`; BENCHMARKS.md, "Hot-path measurements"). Here a statement after the first
 * is one call: Bind, Execute, Sync in one message, on a plan PostgreSQL may cache.
 *
 * Semantics match `PGlite.query` outside a transaction: each statement is its own implicit
 * transaction, the file system is synced after it, and it runs under PGlite's own locks, so it
 * never interleaves with a `query` or a `transaction` on the same instance. Errors are PGlite's
 * `DatabaseError` (with `severity` and `code`). Result values are decoded by PGlite's type parsers
 * (numbers, booleans, JSON, text); array columns come back as text.
 */
export class PglitePrepared {
  readonly #db: PGlite;
  readonly #prepared = new Map<string, Prepared>();

  constructor(db: PGlite) {
    this.#db = db;
  }

  /** Runs `text` with `params` (strings, numbers, bigints, booleans or null) and returns its rows. */
  async query(text: string, params: readonly unknown[]): Promise<SqlRow[]> {
    const prepared = this.#prepared.get(text);
    if (!prepared && this.#prepared.size >= MAX_PREPARED) return (await this.#db.query<SqlRow>(text, [...params])).rows;
    const values = params.map(toText);
    return await this.#db._runExclusiveTransaction(() =>
      this.#db.runExclusive(async () => this.#run(prepared ?? (await this.#prepare(text)), values)),
    );
  }

  async #prepare(text: string): Promise<Prepared> {
    const known = this.#prepared.get(text);
    if (known) return known;
    const name = `storm_${this.#prepared.size + 1}`;
    const s = protocol.serialize;
    const { messages } = await this.#db.execProtocol(
      concat([s.parse({ name, text }), s.describe({ type: "S", name }), s.sync()]),
      { syncToFs: false },
    );
    const description = messages.find((m) => m.name === "rowDescription") as { fields: Field[] } | undefined;
    const prepared = { name, fields: description?.fields ?? [] };
    this.#prepared.set(text, prepared);
    return prepared;
  }

  async #run(prepared: Prepared, values: Array<string | null>): Promise<SqlRow[]> {
    const s = protocol.serialize;
    const { messages } = await this.#db.execProtocol(
      concat([s.bind({ statement: prepared.name, values }), s.execute({}), s.sync()]),
    );
    const rows: SqlRow[] = [];
    const fields = prepared.fields;
    for (const m of messages) {
      if (m.name !== "dataRow") continue;
      const cells = (m as unknown as { fields: Array<string | null> }).fields;
      const row: SqlRow = {};
      for (let i = 0; i < fields.length; i++) row[fields[i]!.name] = decode(cells[i] ?? null, fields[i]!.dataTypeID);
      rows.push(row);
    }
    return rows;
  }
}

function toText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case "string":
      return v;
    case "number":
    case "bigint":
      return String(v);
    case "boolean":
      return v ? "t" : "f";
    default:
      throw new TypeError(`Cannot pass a parameter of type ${typeof v} to a prepared statement`);
  }
}

const parsers = types.parsers as Record<number, ((text: string, typeId: number) => unknown) | undefined>;

function decode(text: string | null, typeId: number): unknown {
  if (text === null) return null;
  const parse = parsers[typeId];
  return parse ? parse(text, typeId) : text;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
