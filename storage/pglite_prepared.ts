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
 * is one call: Bind, Execute, Sync in one message, on a plan PostgreSQL may cache. The message is
 * written, and the response read, here rather than by `execProtocol`, which parses every message
 * into an object (and copies the response twice) for the few rows a store statement returns:
 * ~30 µs of a one-row statement's ~75 (2 shared cores, loaded; BENCHMARKS.md (b1k)).
 *
 * Semantics match `PGlite.query` outside a transaction: each statement is its own implicit
 * transaction, the file system is synced after it, and it runs under PGlite's own locks, so it
 * never interleaves with a `query` or a `transaction` on the same instance. Errors are PGlite's
 * `DatabaseError` (with `severity` and `code`). Result values are decoded by PGlite's type parsers
 * (numbers, booleans, JSON, text); array columns come back as text. Notices and notifications a
 * statement raises are dropped: the store neither raises nor listens for them.
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
    const chunks: Uint8Array[] = [];
    // The bytes are a view of the WASM memory, reused by the next call: copied as they come.
    await this.#db.execProtocolRawStream(bindExecuteSync(prepared.name, values), { onRawData: (bytes) => chunks.push(bytes.slice()) });
    return rowsOf(chunks.length === 1 ? chunks[0]! : concat(chunks), prepared.fields);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Bind (unnamed portal, every parameter and column as text), Execute and Sync, written directly:
 * `protocol.serialize` builds each through a growing writer, ~5 µs per statement (`bench:pglite`).
 */
function bindExecuteSync(statement: string, values: ReadonlyArray<string | null>): Uint8Array {
  const name = encoder.encode(statement);
  const params = values.map((v) => (v === null ? null : encoder.encode(v)));
  let bindLength = 4 + 1 + name.length + 1 + 2 + 2 + 2;
  for (const p of params) bindLength += 4 + (p?.length ?? 0);
  const out = new Uint8Array(1 + bindLength + EXECUTE_SYNC.length);
  const view = new DataView(out.buffer);
  out[0] = 0x42; // B
  view.setInt32(1, bindLength);
  let at = 6; // after the length and the unnamed portal's empty name
  out.set(name, at);
  at += name.length + 1;
  at += 2; // no parameter format codes: all text
  view.setInt16(at, params.length);
  at += 2;
  for (const p of params) {
    view.setInt32(at, p === null ? -1 : p.length);
    at += 4;
    if (p !== null) {
      out.set(p, at);
      at += p.length;
    }
  }
  at += 2; // no result format codes: all text
  out.set(EXECUTE_SYNC, at);
  return out;
}

/** Execute (unnamed portal, no row limit), then Sync. */
const EXECUTE_SYNC = new Uint8Array([0x45, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0x53, 0, 0, 0, 4]);

/**
 * The rows of the DataRow messages in `data` (a statement's whole response), decoded by `fields`;
 * throws PGlite's `DatabaseError` if the response holds an ErrorResponse. Other messages (binding,
 * completion, notices, ReadyForQuery) carry nothing the caller reads.
 */
function rowsOf(data: Uint8Array, fields: readonly Field[]): SqlRow[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const rows: SqlRow[] = [];
  for (let at = 0; at < data.length; at += 1 + view.getInt32(at + 1)) {
    const type = data[at];
    if (type === 0x45) throw errorOf(data); // E
    if (type !== 0x44) continue; // D
    const row: SqlRow = {};
    let p = at + 7; // after the type, the length and the column count
    for (let i = 0; i < fields.length; i++) {
      const n = view.getInt32(p);
      p += 4;
      row[fields[i]!.name] = n < 0 ? null : decode(decoder.decode(data.subarray(p, p + n)), fields[i]!.dataTypeID);
      if (n > 0) p += n;
    }
    rows.push(row);
  }
  return rows;
}

/** The response's first error, as PGlite's protocol parser makes it (`DatabaseError`: message, severity, code). */
function errorOf(data: Uint8Array): Error {
  let error: Error | undefined;
  new protocol.Parser().parse(data, (m) => {
    if (!error && m.name === "error") error = m as unknown as Error;
  });
  return error ?? new Error("PGlite answered a statement with an error it could not parse");
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

function decode(text: string, typeId: number): unknown {
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
