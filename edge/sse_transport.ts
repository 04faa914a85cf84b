import type { IncomingMessage } from "node:http";
import type { SessionView } from "../actors/messages.ts";
import type { Clock, Timer } from "../runtime/core/clock.ts";
import type { Authenticator, Principal } from "./auth.ts";
import { Connection } from "./connection.ts";
import { errorFields, replyFrame } from "./frames.ts";
import { type ActorGateway, sessionActor } from "./gateway.ts";
import type { RouteContext, RouteReply } from "./http_api.ts";
import { parsePositionList, parsePositions, type Positions } from "./positions.ts";
import type { SendTurn } from "./send_turn.ts";
import { SseSink } from "./sse_sink.ts";
import type { Subscriptions } from "./subscriptions.ts";
import type { Fanout } from "./fanout.ts";
import type { RateLimits } from "./rate_limits.ts";

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

/**
 * `GET /sse?ch=<channel>:<seq>&...`: one Server-Sent Events stream per client carrying the same
 * frames as a WebSocket (welcome, subbed, msgs, presence, typing, member, topic, user, err) through
 * the same subscribe/resume machinery (a `Connection` whose sink is the response). Heartbeat
 * comments keep it open; the token's expiry, shutdown or a slow reader end it after an `err` event.
 */
export class SseTransport {
  readonly #streams = new Map<Connection, { sink: SseSink; expiry: Timer | undefined }>();

  constructor(
    private readonly d: StreamDeps,
    /** Test-only: events carry no `id`, so a reconnect cannot resume (the conformance suite must fail). */
    private readonly brokenResume = false,
  ) {}

  get count(): number {
    return this.#streams.size;
  }

  async open({ req, res, url }: RouteContext): Promise<RouteReply> {
    const d = this.d;
    d.limits?.connectFrom(req.socket.remoteAddress ?? "");
    const p = await streamPrincipal(d.auth, req, url);
    d.limits?.connectAs(p.user);
    const positions = parsePositions(url.searchParams.getAll("ch"));
    const lastId = req.headers["last-event-id"];
    if (typeof lastId === "string" && lastId !== "" && !this.brokenResume) {
      // Channels named in both: the event id is where the client really is.
      for (const [ch, seq] of parsePositionList(lastId, "Last-Event-ID")) if (positions.has(ch)) positions.set(ch, seq);
    }
    const sink = new SseSink(res, new Map(positions), this.brokenResume);
    const conn = new Connection(d.nextId(), p, sink, d.turn, d.maxBufferedBytes, d.clock.now(), "json");
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      conn.closed = true;
      this.#streams.get(conn)?.expiry?.cancel();
      this.#streams.delete(conn);
      d.onClosed(conn, true);
    };
    res.once("close", end);
    d.fanout.addUser(conn);
    try {
      const view = await d.actors.ask<SessionView>(sessionActor(p.user), { type: "connect", edge: d.actors.edgeId });
      conn.push(replyFrame("welcome", undefined, { user: p.user, role: p.role, channels: view.channels, reads: view.reads }));
      await subscribeAll(d.subs, conn, positions);
    } catch (err) {
      end();
      throw err;
    }
    if (ended) return undefined;
    sink.open();
    const expiry = p.expiresAt === undefined ? undefined
      : d.clock.setTimeout(() => conn.close(4001, "unauthenticated"), Math.min(2 ** 31 - 1, Math.max(0, p.expiresAt - d.clock.now())));
    this.#streams.set(conn, { sink, expiry });
    return undefined;
  }

  /** A comment line on every stream (`: hb <ms>`). */
  heartbeat(): void {
    const now = this.d.clock.now();
    for (const { sink } of this.#streams.values()) sink.heartbeat(now);
  }

  /** Ends every stream with `shutting_down`: clients reconnect (to any node) and resume. */
  close(): void {
    for (const conn of [...this.#streams.keys()]) conn.close(4101, "shutting_down");
  }
}
