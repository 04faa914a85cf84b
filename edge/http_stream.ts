import type { IncomingMessage } from "node:http";
import type { Clock } from "../runtime/core/clock.ts";
import type { Authenticator, Principal } from "./auth.ts";
import type { Connection } from "./connection.ts";
import type { EdgeMetrics } from "./edge_metrics.ts";
import type { Fanout } from "./fanout.ts";
import { errorFields } from "./frames.ts";
import type { ActorGateway } from "./gateway.ts";
import type { Positions } from "./positions.ts";
import type { RateLimits } from "./rate_limits.ts";
import type { SendTurn } from "./send_turn.ts";
import type { Subscriptions } from "./subscriptions.ts";

/** What the HTTP stream transports (SSE, long-poll) share with the WebSocket edge. */
export interface StreamDeps {
  actors: ActorGateway;
  auth: Authenticator;
  fanout: Fanout;
  subs: Subscriptions;
  turn: SendTurn;
  clock: Clock;
  maxBufferedBytes: number;
  limits?: RateLimits;
  metrics: EdgeMetrics;
  nextId(): number;
  /** Called once when a stream's connection ends, however it ends. */
  onClosed(conn: Connection, session: boolean): void;
}

/** The caller of `GET /sse` or `GET /poll`: `Authorization: Bearer` or `?token=` (EventSource cannot set headers). */
export function streamPrincipal(auth: Authenticator, req: IncomingMessage, url: URL): Promise<Principal> {
  const h = req.headers.authorization;
  return auth.verify(url.searchParams.get("token") ?? (h?.startsWith("Bearer ") ? h.slice(7) : undefined));
}

/**
 * Subscribes `conn` to every channel of `positions` and resolves once each has its `subbed` (or
 * rejects with the first refusal: the caller answers with an HTTP error before any event). A
 * catch-up failing later ends the stream with its code, and the client resumes (G4).
 */
export function subscribeAll(subs: Subscriptions, conn: Connection, positions: Positions): Promise<void> {
  return Promise.all([...positions].map(([ch, after]) => new Promise<void>((resolve, reject) => {
    let confirmed = false;
    subs.subscribe(conn, undefined, ch, after, () => {
      confirmed = true;
      resolve();
    }).catch((err: unknown) => {
      if (!confirmed) return reject(err);
      conn.close(4100, errorFields(err).code);
    });
  }))).then(() => undefined);
}
