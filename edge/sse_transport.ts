import type { SessionView } from "../actors/messages.ts";
import type { Timer } from "../runtime/core/clock.ts";
import { Connection } from "./connection.ts";
import { welcomeFrame } from "./frames.ts";
import { sessionActor } from "./gateway.ts";
import type { RouteContext, RouteReply } from "./http_api.ts";
import { type StreamDeps, streamPrincipal, subscribeAll } from "./http_stream.ts";
import { parsePositionList, parsePositions } from "./positions.ts";
import { SseSink } from "./sse_sink.ts";

/**
 * `GET /sse?ch=<channel>:<seq>&...`: one Server-Sent Events stream per client carrying the same
 * frames as a WebSocket (welcome, subbed, msgs, presence, typing, member, topic, user, err) through
 * the same subscribe/resume machinery (a `Connection` whose sink is the response). Heartbeat
 * comments keep it open; the token's expiry (`token_expired`), shutdown or a slow reader end it after an `err` event.
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
    const conn = new Connection(d.nextId(), p, sink, d.turn, d.maxBufferedBytes, d.clock.now(), "json", d.metrics.sink("sse"));
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
      conn.push(welcomeFrame(p, view));
      await subscribeAll(d.subs, conn, positions);
    } catch (err) {
      end();
      throw err;
    }
    if (ended) return undefined;
    sink.open();
    const expiry = d.clock.setTimeout(() => conn.close(4103, "token_expired"), Math.min(2 ** 31 - 1, Math.max(0, p.exp - d.clock.now())));
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
