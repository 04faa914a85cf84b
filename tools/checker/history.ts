import { HistoryParseError } from "./errors.ts";
import { asObject, describe, int, type JsonObject, optInt, optStr, str } from "./fields.ts";

/**
 * A client history: what test clients recorded, as JSON Lines (one event per line). Every client
 * process appends to its own file; the checker merges the files. The lines of one client must be
 * in the order things happened to it (that is all the per-stream checks rely on); lines of different
 * clients need no common order and `t` clocks need not agree, since no check compares them.
 *
 * - `pub`: a publish was sent (also each retry, with the same `cid`); an edit, delete or reaction
 *   is a `pub` too, with `kind` and `ref` (the message it changes), as is a reply (`ref` alone).
 * - `ack`: its `ack` arrived (REST: 200/201) with `seq`; `dup: true` for a retry's ack.
 * - `err`: the publish failed or its outcome is unknown (`code`: an error code, `timeout`,
 *   `disconnected`, ...): it may or may not be committed.
 * - `resume`: a subscription stream starts on connection `conn`, after seq `after` (record it when
 *   `subbed` arrives; a later `resume` on the same connection and channel starts a new stream, as a
 *   new `sub` replaces the old one). Deliveries with no `resume` before them start a stream after 0.
 * - `deliver`: one message of a `msgs` frame on connection `conn`.
 * - `truncated`: `subbed` said `truncated: true` with `first`: seqs `after+1 .. first-1` are gone.
 *
 * @example
 * {"k":"pub","client":"c1","ch":"g","cid":"c1-1","body":"hi","t":1718000000000}
 * {"k":"ack","client":"c1","ch":"g","cid":"c1-1","seq":7,"t":1718000000004}
 * {"k":"resume","client":"c2","ch":"g","after":6,"conn":1,"t":1718000000001}
 * {"k":"deliver","client":"c2","ch":"g","seq":7,"cid":"c1-1","body":"hi","conn":1,"t":1718000000005}
 */
export type HistoryEvent = PubEvent | AckEvent | ErrEvent | DeliverEvent | ResumeEvent | TruncatedEvent;

/** A connection of one client: a number or any string, unique within that client. */
export type ConnId = number | string;

interface EventBase {
  client: string;
  ch: string;
  /** When it happened, ms since the Unix epoch (the client's clock; for people reading evidence). */
  t?: number;
  /** Where the event was read, `file:line`, set by the parser. */
  at?: string;
}

/** What a change entry does to message `ref` (`edit`, `delete`, `react`, `unreact`); absent for a message. */
export interface EntryShape {
  kind?: string;
  /** The message a change refers to, or a reply's thread root. */
  ref?: number;
}

export interface PubEvent extends EventBase, EntryShape {
  k: "pub";
  cid: string;
  body: string;
}

export interface AckEvent extends EventBase {
  k: "ack";
  cid: string;
  seq: number;
  dup?: boolean;
}

export interface ErrEvent extends EventBase {
  k: "err";
  cid: string;
  code: string;
}

export interface DeliverEvent extends EventBase, EntryShape {
  k: "deliver";
  seq: number;
  cid: string;
  body: string;
  /** The sender (`from` on the wire); compared with the journal's sender when both are known. */
  from?: string;
  conn: ConnId;
}

export interface ResumeEvent extends EventBase {
  k: "resume";
  after: number;
  conn: ConnId;
}

export interface TruncatedEvent extends EventBase {
  k: "truncated";
  first: number;
  conn: ConnId;
}

/**
 * Parses one history file's text. Blank lines are skipped; unknown fields are ignored (so a
 * recorder may add its own), known fields are checked.
 *
 * @throws {HistoryParseError} `Cannot parse history line 12 of c1.jsonl: "seq" must be an integer >= 1, got "7"`
 */
export function parseHistory(text: string, source: string): HistoryEvent[] {
  const out: HistoryEvent[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    try {
      out.push({ ...parseHistoryEvent(JSON.parse(line)), at: `${source}:${i + 1}` });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new HistoryParseError(`Cannot parse history line ${i + 1} of ${source}: ${why}`, { cause: err });
    }
  }
  return out;
}

/** Checks one decoded event and returns it with its known fields only. */
export function parseHistoryEvent(value: unknown): HistoryEvent {
  const o = asObject(value);
  const base = { client: str(o, "client"), ch: str(o, "ch"), ...time(o) };
  switch (o.k) {
    case "pub":
      return { k: "pub", ...base, cid: str(o, "cid"), body: str(o, "body"), ...entryShape(o) };
    case "ack":
      return { k: "ack", ...base, cid: str(o, "cid"), seq: int(o, "seq", 1), ...(o.dup === true ? { dup: true } : {}) };
    case "err":
      return { k: "err", ...base, cid: str(o, "cid"), code: str(o, "code") };
    case "deliver": {
      const from = optStr(o, "from");
      const msg = { seq: int(o, "seq", 1), cid: str(o, "cid"), body: str(o, "body") };
      return { k: "deliver", ...base, ...msg, ...(from === undefined ? {} : { from }), ...entryShape(o), conn: conn(o) };
    }
    case "resume":
      return { k: "resume", ...base, after: int(o, "after", 0), conn: conn(o) };
    case "truncated":
      return { k: "truncated", ...base, first: int(o, "first", 1), conn: conn(o) };
    default:
      throw new Error(`"k" must be pub, ack, err, deliver, resume or truncated, got ${describe(o.k)}`);
  }
}

/** `kind` and `ref` when given (a change, or a reply); `kind: "msg"` is a message's, so it is dropped. */
export function entryShape(o: JsonObject): EntryShape {
  const out: EntryShape = {};
  const kind = optStr(o, "kind");
  const ref = optInt(o, "ref", 1);
  if (kind !== undefined && kind !== "msg") out.kind = kind;
  if (ref !== undefined) out.ref = ref;
  return out;
}

function time(o: JsonObject): { t?: number } {
  const t = o.t;
  if (t === undefined || t === null) return {};
  if (typeof t !== "number" || !Number.isFinite(t)) throw new Error(`"t" must be a number (ms), got ${describe(t)}`);
  return { t };
}

function conn(o: JsonObject): ConnId {
  const v = o.conn;
  if (typeof v === "string" || (typeof v === "number" && Number.isSafeInteger(v))) return v;
  throw new Error(`"conn" must be an integer or a string, got ${describe(v)}`);
}
