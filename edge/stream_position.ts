import type { Positions } from "./positions.ts";
import type { SharedFrame } from "./shared_frame.ts";

const MSGS = '{"t":"msgs"';
const SUBBED = '{"t":"subbed"';

interface MsgsMeta {
  ch: string;
  last: number;
}

/** A shared `msgs` frame's channel and last seq, read once for every HTTP stream it reaches. */
const sharedMeta = new WeakMap<SharedFrame, MsgsMeta>();

/** The channel and last seq of a `msgs` frame (JSON encoding: HTTP streams never use compact). */
function msgsMeta(f: SharedFrame | string): MsgsMeta | undefined {
  const text = typeof f === "string" ? f : f.text;
  if (!text.startsWith(MSGS)) return undefined;
  if (typeof f !== "string") {
    const known = sharedMeta.get(f);
    if (known) return known;
  }
  const parsed = JSON.parse(text) as { ch: string; m: Array<{ seq: number }> };
  const meta = { ch: parsed.ch, last: parsed.m[parsed.m.length - 1]?.seq ?? 0 };
  if (typeof f !== "string") sharedMeta.set(f, meta);
  return meta;
}

/**
 * Moves an HTTP stream's positions past a frame it is about to send: a `msgs` frame moves its
 * channel to its last seq (returns true: the client's position changed); a `subbed` lowers a
 * position past the channel's end to the end, as `Subscriptions.subscribe` lowers the cursor.
 * Positions move with what is written, never ahead of it, so a resume from them has no gap (G4).
 */
export function advance(positions: Positions, f: SharedFrame | string): boolean {
  const meta = msgsMeta(f);
  if (meta) {
    positions.set(meta.ch, meta.last);
    return true;
  }
  if (typeof f === "string" && f.startsWith(SUBBED)) {
    const s = JSON.parse(f) as { ch: string; last: number };
    if ((positions.get(s.ch) ?? 0) > s.last) positions.set(s.ch, s.last);
  }
  return false;
}

/** The order of a long-poll answer: `subbed` frames, then `msgs`, then events. */
export function frameRank(f: SharedFrame | string): number {
  const text = typeof f === "string" ? f : f.text;
  return text.startsWith(SUBBED) ? 0 : text.startsWith(MSGS) ? 1 : 2;
}
