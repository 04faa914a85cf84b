import { ERROR_CODES, type ErrorCode } from "../runtime/core/error_codes.ts";
import { StormError } from "../runtime/core/errors.ts";
import { jsonString } from "../lib/json_string.ts";
import type { SessionView, ViewEntry } from "../actors/messages.ts";
import { type EntryKind, isTombstone, type JournalEntry } from "../storage/store.ts";

/** Server-to-client frame encoders. Each returns the JSON text, encoded once and shared by sockets. */
export interface WireMessage {
  seq: number;
  ts: number;
  from: string;
  cid: string;
  body: string;
  /** A tombstone: the author's account was erased (`from`, `cid`, `body` empty; `kind` and `ref` kept). */
  erased?: true;
  /** Absent for a message; else what the entry does to message `ref`. */
  kind?: Exclude<EntryKind, "msg">;
  /** The message an edit, delete or reaction changes; on a message, the root of its thread. */
  ref?: number;
  /** History (`hist`) only: the message's current version. */
  edited?: true;
  deleted?: true;
  reactions?: Record<string, number>;
  replies?: number;
}

/** An entry on the wire; a plain message has exactly the five fields it always had. */
export function toWireMessage(e: ViewEntry): WireMessage {
  // A tombstone's stored client id is longer than any a client may send: not shown.
  const w: WireMessage = isTombstone(e) ? { seq: e.seq, ts: e.ts, from: "", cid: "", body: "", erased: true } : { seq: e.seq, ts: e.ts, from: e.sender, cid: e.clientId, body: e.body };
  if (e.kind !== undefined && e.kind !== "msg") w.kind = e.kind;
  if (e.ref !== undefined) w.ref = e.ref;
  if (e.edited) w.edited = true;
  if (e.deleted) w.deleted = true;
  if (e.reactions) w.reactions = e.reactions;
  if (e.replies !== undefined) w.replies = e.replies;
  return w;
}

export function msgsFrame(ch: string, entries: readonly JournalEntry[]): string {
  return JSON.stringify({ t: "msgs", ch, m: entries.map(toWireMessage) });
}

/** How a connection receives `msgs` frames, chosen at connect (`/ws?enc=compact`). */
export type MsgsEncoding = "json" | "compact";

export const MSGS_ENCODINGS: readonly MsgsEncoding[] = ["json", "compact"];

/**
 * A row of a compact `msgs` frame: `[dts, from, body]`, or `[dts, body]` when `from` is the previous
 * row's; an entry that is not a plain message (an edit, delete, reaction or thread reply) is always
 * the five-element `[dts, from, body, kind, ref]` (`kind` "msg" for a reply).
 */
export type CompactRow = readonly [number, string, string] | readonly [number, string] | readonly [number, string, string, EntryKind, number];

/**
 * The compact `msgs` frame: `{"t":"msgs","ch":..,"seq":S,"m":[[ts,from,body],[dts,body],..]}`.
 * The i-th row has seq S + i (a frame's seqs are consecutive, G1). The first row carries its
 * commit time, every later row the difference from the row before it (0 for messages committed
 * together). A row without `from` has the previous row's sender. No `cid`: a publisher learns its
 * message's seq from the `ack`, and after a lost ack re-sends the `pub` with the same `cid` to be
 * told the seq again (`dup: true`, G3). For short bodies this is about half the bytes of
 * `msgsFrame`, and a fan-out client receives mostly `msgs` frames.
 */
export function compactMsgsFrame(ch: string, entries: readonly JournalEntry[]): string {
  const rows: CompactRow[] = new Array(entries.length);
  let ts = 0;
  let from: string | undefined;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const dts = i === 0 ? e.ts : e.ts - ts;
    if (e.ref !== undefined) rows[i] = [dts, e.sender, e.body, e.kind ?? "msg", e.ref];
    else rows[i] = e.sender === from ? [dts, e.body] : [dts, e.sender, e.body];
    ts = e.ts;
    from = e.sender;
  }
  return JSON.stringify({ t: "msgs", ch, seq: entries.length > 0 ? entries[0]!.seq : 0, m: rows });
}

/** A message of a compact `msgs` frame, decoded: everything `WireMessage` has but `cid` and the history-only fields. */
export type CompactMessage = Omit<WireMessage, "cid" | "edited" | "deleted" | "reactions" | "replies">;

/** The reference decoder of a compact `msgs` frame (clients, tests and the CLI use it). */
export function decodeCompactMsgs(f: { seq: number; m: readonly CompactRow[] }): CompactMessage[] {
  let ts = 0;
  let from = "";
  return f.m.map((row, i) => {
    ts = i === 0 ? row[0] : ts + row[0];
    if (row.length === 2) return { seq: f.seq + i, ts, from, body: row[1] };
    from = row[1];
    const m: CompactMessage = { seq: f.seq + i, ts, from, body: row[2] };
    if (row.length === 5) {
      if (row[3] !== "msg") m.kind = row[3];
      m.ref = row[4];
    }
    return m;
  });
}

export function msgsFrameIn(enc: MsgsEncoding, ch: string, entries: readonly JournalEntry[]): string {
  return enc === "compact" ? compactMsgsFrame(ch, entries) : msgsFrame(ch, entries);
}

/** The first frame of a stream: who the user is, their channels, read markers, unread and mention counts. */
export function welcomeFrame(p: { user: string; role: string }, view: SessionView): string {
  return replyFrame("welcome", undefined, { user: p.user, role: p.role, channels: view.channels, reads: view.reads, unread: view.unread, mentions: view.mentions });
}

export function replyFrame(t: string, id: number | undefined, fields: Record<string, unknown>): string {
  return JSON.stringify({ t, id, ...fields });
}

/**
 * The `ack` of a publish, the reply sent most: the bytes of `replyFrame("ack", id, { ch, seq, dup })`
 * built as text, without an object per ack for the generic serializer.
 */
export function ackFrame(id: number, ch: string, seq: number, dup: boolean): string {
  return `{"t":"ack","id":${id},"ch":${jsonString(ch)},"seq":${seq}${dup ? ',"dup":true' : ""}}`;
}

export function errorFields(err: unknown): { code: ErrorCode; message: string; retry: string; retryMs?: number } {
  const code: ErrorCode = err instanceof StormError ? err.code : "internal";
  const message = err instanceof Error ? err.message : String(err);
  // `rate_limited` says when a retry can pass.
  const retryMs = (err as { retryMs?: unknown } | undefined)?.retryMs;
  return typeof retryMs === "number" ? { code, message, retry: ERROR_CODES[code].retry, retryMs } : { code, message, retry: ERROR_CODES[code].retry };
}

export function errorFrame(id: number | undefined, err: unknown): string {
  return JSON.stringify({ t: "err", id, ...errorFields(err) });
}
