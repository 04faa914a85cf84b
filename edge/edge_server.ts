import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { EdgeWebSocket } from "./edge_socket.ts";
import type { EdgeEvent, SessionView } from "../actors/messages.ts";
import type { Clock, Timer } from "../runtime/core/clock.ts";
import { RejectedError, StormError, UnavailableError } from "../runtime/core/errors.ts";
import { ERROR_CODES } from "../runtime/core/error_codes.ts";
import type { Authenticator, Principal } from "./auth.ts";
import { Connection } from "./connection.ts";
import { DeliveryReporter } from "./delivery_reporter.ts";
import type { Dispatcher } from "./dispatcher.ts";
import type { Fanout } from "./fanout.ts";
import { FrameHandler } from "./frame_handler.ts";
import { SendTurn } from "./send_turn.ts";
import { chatRoutes } from "./chat_routes.ts";
import { TokenExpiry } from "./token_expiry.ts";
import { CmdTransport } from "./cmd_transport.ts";
import { PollTransport } from "./poll_transport.ts";
import { SyncApi } from "./sync_api.ts";
import type { RateLimits } from "./rate_limits.ts";
import type { StreamDeps } from "./http_stream.ts";
import { SseTransport } from "./sse_transport.ts";
import type { EdgeMetrics } from "./edge_metrics.ts";
import { errorFields, errorFrame, MSGS_ENCODINGS, type MsgsEncoding, replyFrame, welcomeFrame } from "./frames.ts";
import { type ActorGateway, channelActor, sessionActor } from "./gateway.ts";
import type { HttpApi } from "./http_api.ts";
import { LIMITS } from "./schemas.ts";
import type { StaticFiles } from "./static_files.ts";
import type { Subscriptions } from "./subscriptions.ts";
import { checkFrame } from "./validate.ts";

export interface EdgeOptions {
  /** The node's HTTP server, already listening (bound before the store opened); its placeholder listeners are replaced. */
  http: Server;
  actors: ActorGateway;
  fanout: Fanout;
  subscriptions: Subscriptions;
  dispatcher: Dispatcher;
  auth: Authenticator;
  api: HttpApi;
  clock: Clock;
  defer(fn: () => void): void;
  /** Unsent bytes past which a socket is a slow consumer (G6). */
  maxBufferedBytes: number;
  /**
   * Socket writes per chunk of a turn's fan-out (`--write-chunk`; 100 is about a millisecond of
   * `writev` on loopback): between chunks the loop reads publishes and committed batches, which then
   * reach the sockets not yet written in this pass instead of waiting for the whole pass to end.
   */
  writeChunk: number;
  /** A socket silent for this long (no frame, no pong) is closed with `heartbeat_timeout`. */
  heartbeatMs: number;
  /** A socket connected without a token must send `auth` within this time. */
  authTimeoutMs: number;
  /** Counters of `GET /metrics` (deliveries, their latency, errors, upgrades), shared with the HTTP routes. */
  metrics: EdgeMetrics;
  /** Rate limits of connections, requests and publishes (none when absent). */
  limits?: RateLimits;
  /** Test-only: SSE events carry no resume position (proves the transport conformance suite can fail). */
  testBrokenSseResume?: boolean;
  /** Node-to-node links (`/cluster`) in cluster mode. */
  onClusterUpgrade?(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** The web app's files, answered before the API routes. */
  staticFiles?: StaticFiles;
}

/** How long `close` waits for clients to end their connections before it cuts them. */
const CLOSE_GRACE_MS = 5_000;

/** What the edge keeps on each socket: its connection, or before authentication the frames waiting for it. */
const SOCKET_STATE = Symbol("storm.socket");
interface AwaitingAuth {
  frames: Buffer[];
  timer: Timer;
  enc: MsgsEncoding;
}
/** A socket of this edge: an `EdgeWebSocket` at run time (`sendFrame` is there), typed as `ws`'s own for its event listeners. */
type EdgeSocket = WebSocket & Partial<Pick<EdgeWebSocket, "sendFrame">> & { [SOCKET_STATE]?: Connection | AwaitingAuth };

/**
 * The edge of a node: HTTP and WebSocket on one port. It authenticates at upgrade (or with a first
 * `auth` frame), validates every frame, and delivers actor events to its sockets via `Fanout`.
 */
export class EdgeServer {
  readonly http: Server;
  readonly fanout: Fanout;
  readonly #wss: WebSocketServer;
  readonly #frames: FrameHandler;
  readonly #subs: Subscriptions;
  readonly #conns = new Set<Connection>();
  readonly #o: EdgeOptions;
  #nextId = 1;
  #heartbeat: Timer | undefined;
  /** Set while the node holds no cluster lease (`suspend` .. `rejoined`). */
  #suspended = false;
  readonly #expiry: TokenExpiry;
  readonly #turn: SendTurn;
  readonly #delivered: DeliveryReporter;
  readonly #sse: SseTransport;
  readonly #poll: PollTransport;
  readonly #listeners: {
    pong(this: EdgeSocket): void;
    message(this: EdgeSocket, data: Buffer, isBinary: boolean): void;
    close(this: EdgeSocket): void;
    error(this: EdgeSocket): void;
  };

  constructor(o: EdgeOptions) {
    this.#o = o;
    this.fanout = o.fanout;
    this.#subs = o.subscriptions;
    const edge = this;
    // `ws` calls listeners with the socket as `this`.
    this.#listeners = {
      pong() {
        const state = this[SOCKET_STATE];
        if (state instanceof Connection) state.lastSeen = o.clock.now();
      },
      message(data, isBinary) {
        edge.#onMessage(this, data, isBinary);
      },
      close() {
        edge.#onClose(this);
      },
      error() {
        this.terminate();
      },
    };
    this.#turn = new SendTurn(o.defer, o.writeChunk);
    this.#delivered = new DeliveryReporter({
      clock: o.clock,
      later: this.#turn.later,
      socketsOn: (ch) => this.fanout.socketsOn(ch),
      report: (ch, seq) => o.actors.tell(channelActor(ch), { type: "delivered", edge: o.actors.edgeId, seq }),
      // Well below the slow-consumer bound, so pacing starts long before anyone is disconnected.
      highWater: o.maxBufferedBytes / 8,
      lowWater: o.maxBufferedBytes / 32,
      maxWaitMs: 1_000,
      retryMs: 2,
      minIntervalMs: 20,
    });
    this.#frames = new FrameHandler(o.dispatcher, (conn, token, id) => this.#reauth(conn, token, id), o.metrics);
    this.#expiry = new TokenExpiry(o.clock, {
      notice: (conn) => conn.push(JSON.stringify({ t: "reauth", exp: conn.principal.exp })),
      expired: (conn) =>
        conn.closeWith(4103, "token_expired", this.#errorFrame(undefined, new StormError("token_expired", "The token of this connection expired: reconnect with a fresh token and resume"))),
    });
    const streams: StreamDeps = {
      actors: o.actors, auth: o.auth, fanout: this.fanout, subs: this.#subs, turn: this.#turn, clock: o.clock,
      maxBufferedBytes: o.maxBufferedBytes,
      limits: o.limits,
      metrics: o.metrics,
      nextId: () => this.#nextId++,
      onClosed: (conn, session) => {
        this.#delivered.closed(conn);
        this.#subs.closed(conn, session);
      },
    };
    this.#sse = new SseTransport(streams, o.testBrokenSseResume);
    o.api.route("GET", "/sse", ["ch", "token"], (ctx) => this.#sse.open(ctx));
    this.#poll = new PollTransport(streams);
    o.api.route("GET", "/poll", ["ch", "token", "wait"], (ctx) => this.#poll.handle(ctx));
    new SyncApi(o.dispatcher, (req) => o.api.principal(req), o.metrics.sink("sync"), () => ({
      connections: this.#conns.size, totalConnections: this.#nextId - 1, subscriptions: this.fanout.subscriptions(), sse: this.#sse.count, polls: this.#poll.count,
    })).register(o.api);
    const limits = o.limits;
    if (limits) {
      o.api.admit(async (req, url) => {
        limits.httpFrom(req.socket.remoteAddress ?? "");
        if (url.pathname.startsWith("/api/")) limits.api((await o.api.principal(req)).user);
      });
    }
    const cmd = new CmdTransport(o.dispatcher, (ctx) => o.api.principal(ctx.req), undefined, o.metrics);
    o.api.route("POST", "/cmd", [], (ctx) => cmd.handle(ctx));
    chatRoutes(o.api, o.dispatcher);
    this.http = o.http;
    this.http.removeAllListeners("request").removeAllListeners("upgrade");
    this.http.on("request", (req, res) => {
      if (o.staticFiles?.serve(req, res)) o.metrics.http.inc(["static", String(res.statusCode)]);
      else void o.api.handle(req, res);
    });
    // The hard cap only protects memory; messages between the protocol limit and it get a typed
    // `too_large` error and the connection survives (G7).
    this.#wss = new WebSocketServer({
      WebSocket: EdgeWebSocket, noServer: true, maxPayload: LIMITS.hardMaxMessageBytes, perMessageDeflate: false,
    });
    this.http.on("upgrade", (req, socket, head) => this.#upgrade(req, socket, head));
    this.#heartbeat = o.clock.setInterval(() => this.#checkHeartbeats(), Math.max(100, o.heartbeatMs / 3));
  }

  /** Entry point for events actors address to this edge. */
  onEvent(ev: EdgeEvent): void {
    if (ev.type === "dropped") return this.#subs.resync(ev.ch);
    if (ev.type === "close_user") {
      for (const conn of this.fanout.connectionsOf(ev.user)) conn.close(ERROR_CODES[ev.code].close, ev.code);
      return;
    }
    this.fanout.onEvent(ev);
    if (ev.type === "msgs" && ev.m.length > 0) this.#delivered.handed(ev.ch, ev.m[ev.m.length - 1]!.seq);
    if (ev.type === "member" && !ev.joined) this.#subs.userLeft(ev.user, ev.ch);
  }

  /** The node lost its cluster lease: sockets stay open, their streams wait for `rejoined`. */
  suspend(): void {
    this.#suspended = true;
    this.#subs.suspend();
  }

  /** The node holds a lease again as a new incarnation: every stream resumes from its cursor. */
  rejoined(oldEdge: string): void {
    this.#suspended = false;
    this.#subs.resume(oldEdge);
  }

  /** A channel's actor has a new activation: local sockets on it resubscribe from their cursors. */
  placementChanged(ch: string, epoch: number): void {
    this.#subs.placementChanged(ch, epoch);
  }

  stats(): { connections: number; sse: number; polls: number; channels: number; delivered: number } {
    return { connections: this.#conns.size, sse: this.#sse.count, polls: this.#poll.count, channels: this.fanout.channels(), delivered: this.fanout.delivered };
  }

  /** Closes every socket with `shutting_down` (clients reconnect elsewhere and resume). */
  async close(): Promise<void> {
    this.#heartbeat?.cancel();
    this.#expiry.close();
    for (const c of this.#conns) c.close(4101, "shutting_down");
    this.#sse.close();
    this.#poll.close();
    this.#wss.close();
    const closed = new Promise<void>((r) => this.http.close(() => r()));
    // A client that never answers the close handshake (or a request still running) holds the
    // server open: past a grace period its connection is cut, as a rolling restart cannot wait.
    const grace = this.#o.clock.setTimeout(() => this.http.closeAllConnections(), CLOSE_GRACE_MS);
    await closed;
    grace.cancel();
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Node's HTTP server drops its own error listener from a socket it hands to `upgrade`: a
    // client's reset while the upgrade is refused or pending (handshake timeouts, load balancers)
    // would be an uncaught error that ends the process. `ws` adds its own once it takes the socket.
    socket.on("error", () => socket.destroy());
    const url = new URL(req.url ?? "/", "http://edge");
    if (url.pathname === "/cluster" && this.#o.onClusterUpgrade) return this.#o.onClusterUpgrade(req, socket, head);
    if (url.pathname !== "/ws") {
      socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
      return;
    }
    // A new client is better served by another node than welcomed here without its session.
    if (this.#suspended) return this.#refuse(socket, "503 Service Unavailable", new UnavailableError("This node is rejoining its cluster: connect to another node, or retry"));
    const enc = url.searchParams.get("enc") ?? "json";
    if (!(MSGS_ENCODINGS as readonly string[]).includes(enc)) {
      const err = new StormError("bad_request", `Cannot use enc "${enc.slice(0, 40)}": expected one of ${MSGS_ENCODINGS.join(", ")}`);
      return this.#refuse(socket, "400 Bad Request", err);
    }
    const bearer = req.headers.authorization?.startsWith("Bearer ") ? req.headers.authorization.slice(7) : undefined;
    const token = url.searchParams.get("token") ?? bearer;
    try {
      if (this.#o.limits?.limitsConnectsByIp) this.#o.limits.connectFrom(req.socket.remoteAddress ?? "");
    } catch (err) {
      return this.#refuse(socket, "429 Too Many Requests", err);
    }
    const accept = (principal: Principal | undefined) => {
      try {
        if (principal) this.#o.limits?.connectAs(principal.user);
      } catch (err) {
        return this.#refuse(socket, "429 Too Many Requests", err);
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => {
        this.#o.metrics.http.inc(["/ws", "101"]);
        this.#accept(ws, principal, enc as MsgsEncoding);
      });
    };
    if (!token) return accept(undefined);
    this.#o.auth.verify(token).then(accept, (err: unknown) => this.#refuse(socket, "401 Unauthorized", err));
  }

  /**
   * Every socket gets the same four listeners (created once, in the constructor): per-socket
   * closures would cost each idle connection about 400 bytes. What a listener needs about its
   * socket hangs off the socket itself (`SOCKET_STATE`).
   */
  #accept(ws: EdgeSocket, principal: Principal | undefined, enc: MsgsEncoding): void {
    if (principal) this.#start(ws, principal, enc);
    else {
      // A socket has a bounded time to authenticate; it holds resources meanwhile (G6).
      const timer = this.#o.clock.setTimeout(() => {
        if (ws[SOCKET_STATE] instanceof Connection || ws.readyState !== ws.OPEN) return;
        ws.send(this.#errorFrame(undefined, new StormError("unauthenticated", "No auth frame within the authentication window")));
        ws.close(4001, "unauthenticated");
      }, this.#o.authTimeoutMs);
      ws[SOCKET_STATE] = { frames: [], timer, enc };
    }
    ws.on("pong", this.#listeners.pong);
    ws.on("message", this.#listeners.message);
    ws.on("close", this.#listeners.close);
    ws.on("error", this.#listeners.error);
  }

  #start(ws: EdgeSocket, p: Principal, enc: MsgsEncoding): Connection {
    const pending = ws[SOCKET_STATE];
    if (pending && !(pending instanceof Connection)) pending.timer.cancel();
    const conn = new Connection(this.#nextId++, p, ws, this.#turn, this.#o.maxBufferedBytes, this.#o.clock.now(), enc, this.#o.metrics.sink("ws"));
    ws[SOCKET_STATE] = conn;
    this.#conns.add(conn);
    this.#expiry.track(conn);
    this.fanout.addUser(conn);
    this.#o.actors.ask<SessionView>(sessionActor(p.user), { type: "connect", edge: this.#o.actors.edgeId }).then(
      (view) => conn.push(welcomeFrame(p, view)),
      (err) => conn.push(this.#errorFrame(undefined, err)),
    );
    return conn;
  }

  #onMessage(ws: EdgeSocket, data: Buffer, isBinary: boolean): void {
    const state = ws[SOCKET_STATE];
    if (state instanceof Connection) {
      state.lastSeen = this.#o.clock.now();
      if (isBinary) return state.push(this.#errorFrame(undefined, new StormError("bad_request", "Cannot parse frame: binary frames are not supported yet")));
      return this.#frames.onData(state, data);
    }
    if (!state) return;
    // Frames pipelined behind the `auth` frame wait for it, then run in order.
    state.frames.push(data);
    if (state.frames.length > 1) return;
    void this.#authFrame(ws, data, state.enc).then((conn) => {
      if (conn) for (const d of state.frames.splice(0).slice(1)) this.#frames.onData(conn, d);
    });
  }

  #onClose(ws: EdgeSocket): void {
    const state = ws[SOCKET_STATE];
    if (!(state instanceof Connection)) return state?.timer.cancel();
    state.closed = true;
    this.#conns.delete(state);
    this.#expiry.untrack(state);
    this.#delivered.closed(state);
    this.#subs.closed(state);
  }

  async #authFrame(ws: EdgeSocket, data: Buffer, enc: MsgsEncoding): Promise<Connection | undefined> {
    try {
      const f = checkFrame(JSON.parse(data.toString("utf8")));
      if (f.t !== "auth") throw new StormError("unauthenticated", "Cannot accept frame before authentication: send {\"t\":\"auth\",\"token\":...} first");
      const p = await this.#o.auth.verify(f.token);
      try {
        this.#o.limits?.connectAs(p.user);
      } catch (err) {
        // 1013: "try again later"; the err frame before it says when.
        ws.send(this.#errorFrame(undefined, err));
        ws.close(1013, "rate_limited");
        return undefined;
      }
      return this.#start(ws, p, enc);
    } catch (err) {
      ws.send(this.#errorFrame(undefined, err instanceof StormError ? err : new StormError("unauthenticated", String(err))));
      ws.close(4001, "unauthenticated");
      return undefined;
    }
  }

  /**
   * A fresh token on an open connection (`auth` after authentication): same user only; the
   * connection then lives until the new token's `exp`. A bad token changes nothing.
   */
  async #reauth(conn: Connection, token: string, id: number | undefined): Promise<string> {
    const p = await this.#o.auth.verify(token);
    if (p.user !== conn.user) throw new RejectedError("forbidden", `Cannot re-authenticate as "${p.user}" a connection of "${conn.user}": open a new connection`);
    conn.principal = p;
    this.#expiry.track(conn);
    return replyFrame("ok", id, { exp: p.exp });
  }

  /** `errorFrame`, counted by code. */
  #errorFrame(id: number | undefined, err: unknown): string {
    this.#o.metrics.error(err);
    return errorFrame(id, err);
  }

  /** `refuse`, counted: the error by code, the upgrade by status. */
  #refuse(socket: Duplex, status: string, err: unknown): void {
    this.#o.metrics.error(err);
    this.#o.metrics.http.inc(["/ws", status.slice(0, 3)]);
    refuse(socket, status, err);
  }

  #checkHeartbeats(): void {
    const cutoff = this.#o.clock.now() - this.#o.heartbeatMs;
    for (const c of this.#conns) {
      if (c.lastSeen < cutoff) c.close(4102, "heartbeat_timeout");
    }
    for (const ws of this.#wss.clients) ws.ping();
    this.#sse.heartbeat();
    this.#o.limits?.sweep();
  }
}

/** Answers an upgrade request with an HTTP error and a typed body instead of a WebSocket. */
function refuse(socket: Duplex, status: string, err: unknown): void {
  const e = errorFields(err);
  const retryAfter = e.retryMs === undefined ? "" : `retry-after: ${Math.max(1, Math.ceil(e.retryMs / 1000))}\r\n`;
  socket.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json\r\n${retryAfter}\r\n${JSON.stringify({ error: e })}`);
}
