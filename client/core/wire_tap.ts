import type { ClientFrame, ServerFrame } from "./protocol.ts";
import type { TransportFactory } from "./transport_factory.ts";
import type { TransportKind } from "./transport.ts";

/**
 * What a client's connections carried, in order: the frames it sent (`out`; a subscription shows as
 * its `sub` frame also on the HTTP transports, which reopen a stream instead), the frames it
 * received (`in`, raw: repeats the channel handles drop are still there), and the end of the
 * connection (`closed`, also when the client closed it). `conn` numbers the connections from 1.
 */
export type WireEvent =
  | { conn: number; kind: TransportKind; dir: "out"; frames: ClientFrame[] }
  | { conn: number; kind: TransportKind; dir: "in"; frames: ServerFrame[] }
  | { conn: number; kind: TransportKind; dir: "closed"; code: number; reason: string };

/**
 * Wraps a transport factory so every transport it makes reports to `tap`. Inspectors and test
 * recorders (the chaos client's history) read the wire through it instead of speaking the
 * protocol themselves. Tokens (`auth` frames) are not reported.
 */
export function tapTransports(factory: TransportFactory, tap: (e: WireEvent) => void): TransportFactory {
  let conns = 0;
  return (kind, base, token, platform, handlers) => {
    const conn = ++conns;
    let ended = false;
    const closed = (code: number, reason: string) => {
      if (ended) return;
      ended = true;
      tap({ conn, kind, dir: "closed", code, reason });
    };
    const t = factory(kind, base, token, platform, {
      onFrames: (frames) => {
        tap({ conn, kind, dir: "in", frames });
        handlers.onFrames(frames);
      },
      onClose: (c) => {
        closed(c.code, c.reason);
        handlers.onClose(c);
      },
    });
    return {
      kind: t.kind,
      start: () => t.start(),
      send: (frames) => {
        tap({ conn, kind, dir: "out", frames });
        t.send(frames);
      },
      subscribe: (ch, after, id) => {
        tap({ conn, kind, dir: "out", frames: [{ t: "sub", id, ch, after }] });
        t.subscribe(ch, after, id);
      },
      unsubscribe: (ch, id) => {
        tap({ conn, kind, dir: "out", frames: [{ t: "unsub", id, ch }] });
        t.unsubscribe(ch, id);
      },
      reauth: (fresh) => t.reauth(fresh),
      close: () => {
        t.close();
        closed(1000, "closed by the client");
      },
    };
  };
}
