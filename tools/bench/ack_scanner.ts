// Reading publish acks from a WebSocket message's bytes, for the durable-publish load processes.
import { eachFrame, startsAt } from './byte_scan.ts';

const ACK_ID = Buffer.from('{"t":"ack","id":');
const CH = Buffer.from(',"ch":"');
const SEQ = Buffer.from(',"seq":');

/**
 * Reads a message made only of plain acks (`{"t":"ack","id":N,"ch":"name","seq":S}`, alone or in a
 * `[..]` array) straight from its bytes, as the fan-out subscribers read their deliveries: on 2
 * shared cores, JSON.parse of every ack was a fifth of a durable load process. Writes (request id,
 * index of the channel in `channels`, seq) triples into `out` and returns how many numbers it
 * wrote; returns -1 for anything else (an error frame, a duplicate's ack, an unknown channel, a
 * cut message), which the caller reads with JSON.parse. Relies on the server's key order.
 */
export function scanAcks(buf: Buffer, channels: readonly Buffer[], out: number[]): number {
  nOut = 0;
  scannedInto = out;
  return eachFrame(buf, channels, ackFrame) ? nOut : -1;
}

/** Where `ackFrame` writes, and how much it wrote, for the message being scanned. */
let scannedInto: number[] = [];
let nOut = 0;

/** One plain ack from `p`: the position past it, or -1. */
function ackFrame(buf: Buffer, p: number, channels: readonly Buffer[]): number {
  if (!startsAt(buf, p, ACK_ID)) return -1;
  p += ACK_ID.length;
  let id = 0;
  let c = 0;
  while ((c = buf[p]!) >= 48 && c <= 57) { id = id * 10 + (c - 48); p++; }
  if (!startsAt(buf, p, CH)) return -1;
  p += CH.length;
  const q = buf.indexOf(34, p); // closing quote of the channel name
  const ch = q < 0 ? -1 : channelAt(buf, p, q, channels);
  if (ch < 0 || !startsAt(buf, q + 1, SEQ)) return -1;
  p = q + 1 + SEQ.length;
  let seq = 0;
  while ((c = buf[p]!) >= 48 && c <= 57) { seq = seq * 10 + (c - 48); p++; }
  if (buf[p] !== 125) return -1; // }
  scannedInto[nOut++] = id;
  scannedInto[nOut++] = ch;
  scannedInto[nOut++] = seq;
  return p + 1;
}

/** Index in `channels` of the name in `buf[from, to)`, or -1. */
function channelAt(buf: Buffer, from: number, to: number, channels: readonly Buffer[]): number {
  for (let i = 0; i < channels.length; i++) {
    const name = channels[i]!;
    if (name.length === to - from && startsAt(buf, from, name)) return i;
  }
  return -1;
}
