// One subscriber connection of a load process and its per-channel order check, and the shapes
// every target's client side shares (bench/fanout_clients.ts, bench/centrifugo_clients.ts).
import type { LeanWs } from './lean_ws.ts';

/** The sink shared by all subscribers of a load process. */
export interface Sink {
  onMsg(latencyUs: number): void;
  /** One WebSocket message of `bytes` received by a subscriber. */
  onWire(bytes: number): void;
}

/** One subscriber connection and its per-channel ordering check. */
export class Sub {
  /** Next seq expected per subscribed channel, parallel to `chans` (publisher seq for raw/sio, channel seq for storm). */
  readonly exp: number[];
  gaps = 0; // times a seq was skipped
  missing = 0; // seqs skipped in total
  reorders = 0; // seq lower than expected (duplicate or out of order)
  badFrames = 0;
  errors = 0;
  closed = false;
  ws: LeanWs | undefined;
  constructor(readonly sink: Sink, readonly chans: number[]) {
    this.exp = chans.map(() => 1);
  }

  onSeq(ch: number, seq: number, tsUs: number, now: number): void {
    const i = this.chans[0] === ch ? 0 : this.chans.indexOf(ch);
    if (i < 0) {
      this.badFrames++; // a delivery on a channel this socket never subscribed to
      return;
    }
    const expected = this.exp[i]!;
    if (seq !== expected) {
      if (seq > expected) {
        this.gaps++;
        this.missing += seq - expected;
      } else this.reorders++;
    }
    if (seq >= expected) this.exp[i] = seq + 1;
    this.sink.onMsg(now - tsUs);
  }
}

export interface ConnOpts {
  host: string;
  port: number;
  localAddress?: string | undefined;
}

/** Publisher connection: `send` publishes one body on channel `ch`; acks free window slots. */
export interface PubConn {
  send(ch: number, body: string): void;
  close(): void;
  errors: number;
}
