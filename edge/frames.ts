import { ERROR_CODES, type ErrorCode } from "../runtime/core/error_codes.ts";
import { StormError } from "../runtime/core/errors.ts";
import type { JournalEntry } from "../storage/store.ts";

/** Server-to-client frame encoders. Each returns the JSON text, encoded once and shared by sockets. */
export interface WireMessage {
  seq: number;
  ts: number;
  from: string;
  cid: string;
  body: string;
}

export function toWireMessage(e: JournalEntry): WireMessage {
  return { seq: e.seq, ts: e.ts, from: e.sender, cid: e.clientId, body: e.body };
}

export function msgsFrame(ch: string, entries: readonly JournalEntry[]): string {
  return JSON.stringify({ t: "msgs", ch, m: entries.map(toWireMessage) });
}

export function replyFrame(t: string, id: number | undefined, fields: Record<string, unknown>): string {
  return JSON.stringify({ t, id, ...fields });
}

export function errorFields(err: unknown): { code: ErrorCode; message: string; retry: string } {
  const code: ErrorCode = err instanceof StormError ? err.code : "internal";
  const message = err instanceof Error ? err.message : String(err);
  return { code, message, retry: ERROR_CODES[code].retry };
}

export function errorFrame(id: number | undefined, err: unknown): string {
  return JSON.stringify({ t: "err", id, ...errorFields(err) });
}
