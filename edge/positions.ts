import { RejectedError } from "../runtime/core/errors.ts";
import { ChannelName } from "./schemas.ts";
import { check, matches } from "./validate.ts";

/** Channels a stream or a poll may name at once. */
export const MAX_POSITIONS = 100;

/**
 * A position list: per channel, the last seq the client has seen (SSE and long-poll resume, G4).
 * On the wire: `ch=<channel>:<seq>` query values (split at the LAST colon: `dm:` names contain
 * colons; `ch=general` means 0), or one string `general:12,dm:alice:bob:3` (SSE event ids,
 * `Last-Event-ID`, the long-poll `pos`).
 */
export type Positions = Map<string, number>;

/** Parses `ch=` query values; a malformed value or more than `MAX_POSITIONS` channels is `bad_request`. */
export function parsePositions(values: readonly string[], what = "ch"): Positions {
  const out: Positions = new Map();
  for (const v of values) {
    if (v === "") continue;
    const [ch, seq] = splitPosition(v, what);
    out.set(ch, seq);
  }
  if (out.size > MAX_POSITIONS) throw new RejectedError("bad_request", `Cannot follow ${out.size} channels at once (max ${MAX_POSITIONS})`);
  return out;
}

/** Parses a comma-separated position list (`Last-Event-ID`, `pos`). */
export function parsePositionList(list: string, what: string): Positions {
  return parsePositions(list.split(","), what);
}

export function formatPositions(p: ReadonlyMap<string, number>): string {
  let s = "";
  for (const [ch, seq] of p) s += (s ? "," : "") + ch + ":" + seq;
  return s;
}

function splitPosition(v: string, what: string): [string, number] {
  const colon = v.lastIndexOf(":");
  const tail = colon < 0 ? "" : v.slice(colon + 1);
  // `dm:a:b` alone has colons but no seq: its last part is a name, not digits.
  if (colon < 0 || !/^\d+$/.test(tail)) return [check(ChannelName, v, `${what} position "${v.slice(0, 120)}"`), 0];
  // `dm:alice:123` is a whole name (seq omitted) when its prefix is no channel name.
  if (!validName(v.slice(0, colon)) && validName(v)) return [v, 0];
  const seq = Number(tail);
  if (!Number.isSafeInteger(seq)) throw new RejectedError("bad_request", `Cannot accept ${what} position "${v.slice(0, 120)}": seq out of range`);
  return [check(ChannelName, v.slice(0, colon), `${what} position "${v.slice(0, 120)}"`), seq];
}

function validName(s: string): boolean {
  return matches(ChannelName, s);
}
