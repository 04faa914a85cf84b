// Reading the server's JSON frames straight from a WebSocket message's bytes, for the load
// processes (see `scanStormMsgs` and `scanAcks`): the framing they share.

/** Whether `needle`'s bytes are at `p` in `buf`. */
export function startsAt(buf: Buffer, p: number, needle: Buffer): boolean {
  if (p < 0 || p + needle.length > buf.length) return false;
  for (let i = 0; i < needle.length; i++) if (buf[p + i] !== needle[i]) return false;
  return true;
}

/**
 * Runs `item` over every frame of a message that is one frame or a `[..]` array of frames (how
 * the server joins a turn's frames for a socket). `item` reads the frame starting at `p` and
 * returns the position just past it, or -1 when it is not a frame it reads. Returns false when any
 * item refused, or when the message does not end right after its frames.
 */
export function eachFrame<C>(buf: Buffer, ctx: C, item: (buf: Buffer, p: number, ctx: C) => number): boolean {
  const len = buf.length;
  const array = buf[0] === 91; // [
  let p = array ? 1 : 0;
  for (;;) {
    p = item(buf, p, ctx);
    if (p < 0) return false;
    if (!array) return p === len;
    if (buf[p] === 44) { p++; continue; } // ,
    return buf[p] === 93 && p + 1 === len; // ]
  }
}
