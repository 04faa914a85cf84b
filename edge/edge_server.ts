import { createServer, type IncomingMessage, type Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { EdgeWebSocket } from "./edge_socket.ts";
import type { EdgeEvent, SessionView } from "../actors/messages.ts";
import type { Clock, Timer } from "../runtime/core/clock.ts";
import { StormError } from "../runtime/core/errors.ts";
import type { Authenticator, Principal } from "./auth.ts";
import { Connection } from "./connection.ts";
import { DeliveryReporter } from "./delivery_reporter.ts";
import { Fanout } from "./fanout.ts";
import { FrameHandler } from "./frame_handler.ts";
import { SendTurn } from "./send_turn.ts";
import type { EdgeMetrics } from "./edge_metrics.ts";
import { errorFields, MSGS_ENCODINGS, type MsgsEncoding, replyFrame } from "./frames.ts";
import { type ActorGateway, channelActor, sessionActor } from "./gateway.ts";
import type { HttpApi } from "./http_api.ts";
import { LIMITS } from "./schemas.ts";
import { checkFrame } from "./validate.ts";

export interface EdgeOptions {
  actors: ActorGateway;
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
  /** Counters of `GET /metrics` (deliveries, their latency, errors), shared with the HTTP API. */
  metrics: EdgeMetrics;
  /** Node-to-node links (`/cluster`) in cluster mode. */
  onClusterUpgrade?(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

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
  readonly fanout = new Fanout();
  readonly #wss: WebSocketServer;
  readonly #handler: FrameHandler;
  readonly #conns = new Set<Connection>();
  readonly #o: EdgeOptions;
  #nextId = 1;
  #heartbeat: Timer | undefined;
  readonly #turn: SendTurn;
  readonly #delivered: DeliveryReporter;
  readonly #listeners: {
    pong(this: EdgeSocket): void;
    message(this: EdgeSocket, data: Buffer, isBinary: boolean): void;
    close(this: EdgeSocket): void;
    error(this: EdgeSocket): void;
  };

  constructor(o: EdgeOptions) {
    this.#o = o;
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
    this.#handler = new FrameHandler(o.actors, this.fanout, o.metrics);
    this.http = createServer((req, res) => void o.api.handle(req, res));
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
    if (ev.type === "dropped") return this.#handler.resync(ev.ch);
    this.fanout.onEvent(ev);
    if (ev.type === "msgs" && ev.m.length > 0) this.#delivered.handed(ev.ch, ev.m[ev.m.length - 1]!.seq);
    if (ev.type === "member" && !ev.joined) this.#handler.userLeft(ev.user, ev.ch);
  }

  /** A channel's actor has a new activation: local sockets on it resubscribe from their cursors. */
  placementChanged(ch: string, epoch: number): void {
    this.#handler.placementChanged(ch, epoch);
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.http.once("error", reject);
      this.http.listen(port, host, () => resolve((this.http.address() as { port: number }).port));
    });
  }

  stats(): { connections: number; channels: number; delivered: number } {
    return { connections: this.#conns.size, channels: this.fanout.channels(), delivered: this.fanout.delivered };
  }

  /** Closes every socket with `shutting_down` (clients reconnect elsewhere and resume). */
  async close(): Promise<void> {
    this.#heartbeat?.cancel();
    for (const c of this.#conns) c.close(4101, "shutting_down");
    this.#wss.close();
    await new Promise<void>((r) => this.http.close(() => r()));
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? "/", "http://edge");
    if (url.pathname === "/cluster" && this.#o.onClusterUpgrade) return this.#o.onClusterUpgrade(req, socket, head);
    if (url.pathname !== "/ws") {
      this.#o.metrics.http.inc(["unmatched", "404"]);
      socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
      return;
    }
    const enc = url.searchParams.get("enc") ?? "json";
    if (!(MSGS_ENCODINGS as readonly string[]).includes(enc)) {
      const err = new StormError("bad_request", `Cannot use enc "${enc.slice(0, 40)}": expected one of ${MSGS_ENCODINGS.join(", ")}`);
      return refuse(socket, "400 Bad Request", err, this.#o.metrics);
    }
    const bearer = req.headers.authorization?.startsWith("Bearer ") ? req.headers.authorization.slice(7) : undefined;
    const token = url.searchParams.get("token") ?? bearer;
    const accept = (principal: Principal | undefined) =>
      this.#wss.handleUpgrade(req, socket, head, (ws) => {
        this.#o.metrics.http.inc(["/ws", "101"]);
        this.#accept(ws, principal, enc as MsgsEncoding);
      });
    if (!token) return accept(undefined);
    this.#o.auth.verify(token).then(accept, (err: unknown) => refuse(socket, "401 Unauthorized", err, this.#o.metrics));
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
        ws.send(this.#o.metrics.errorFrame(undefined, new StormError("unauthenticated", "No auth frame within the authentication window")));
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
    const conn = new Connection(this.#nextId++, p, ws, this.#turn, this.#o.maxBufferedBytes, this.#o.clock.now(), enc, this.#o.metrics);
    ws[SOCKET_STATE] = conn;
    this.#conns.add(conn);
    this.fanout.addUser(conn);
    this.#o.actors.ask<SessionView>(sessionActor(p.user), { type: "connect", edge: this.#o.actors.edgeId }).then(
      (view) => conn.push(replyFrame("welcome", undefined, { user: p.user, role: p.role, channels: view.channels, reads: view.reads })),
      (err) => conn.push(this.#o.metrics.errorFrame(undefined, err)),
    );
    return conn;
  }

  #onMessage(ws: EdgeSocket, data: Buffer, isBinary: boolean): void {
    const state = ws[SOCKET_STATE];
    if (state instanceof Connection) {
      state.lastSeen = this.#o.clock.now();
      if (isBinary) return state.push(this.#o.metrics.errorFrame(undefined, new StormError("bad_request", "Cannot parse frame: binary frames are not supported yet")));
      return this.#onData(state, data);
    }
    if (!state) return;
    // Frames pipelined behind the `auth` frame wait for it, then run in order.
    state.frames.push(data);
    if (state.frames.length > 1) return;
    void this.#authFrame(ws, data, state.enc).then((conn) => {
      if (conn) for (const d of state.frames.splice(0).slice(1)) this.#onData(conn, d);
    });
  }

  #onClose(ws: EdgeSocket): void {
    const state = ws[SOCKET_STATE];
    if (!(state instanceof Connection)) return state?.timer.cancel();
    state.closed = true;
    this.#conns.delete(state);
    this.#delivered.closed(state);
    this.#handler.closed(state);
  }

  async #authFrame(ws: EdgeSocket, data: Buffer, enc: MsgsEncoding): Promise<Connection | undefined> {
    try {
      const f = checkFrame(JSON.parse(data.toString("utf8")));
      if (f.t !== "auth") throw new StormError("unauthenticated", "Cannot accept frame before authentication: send {\"t\":\"auth\",\"token\":...} first");
      return this.#start(ws, await this.#o.auth.verify(f.token), enc);
    } catch (err) {
      ws.send(this.#o.metrics.errorFrame(undefined, err instanceof StormError ? err : new StormError("unauthenticated", String(err))));
      ws.close(4001, "unauthenticated");
      return undefined;
    }
  }

  /** Parses one WebSocket message: a frame or an array of frames. A bad frame fails alone. */
  #onData(conn: Connection, data: Buffer): void {
    if (data.length > LIMITS.maxFrameBytes) {
      return conn.push(this.#o.metrics.errorFrame(undefined, new StormError("too_large", `Cannot accept a ${data.length}-byte message (max ${LIMITS.maxFrameBytes})`)));
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.toString("utf8"));
    } catch {
      return conn.push(this.#o.metrics.errorFrame(undefined, new StormError("bad_request", "Cannot parse frame: invalid JSON")));
    }
    const frames = Array.isArray(parsed) ? parsed : [parsed];
    if (frames.length > LIMITS.maxFramesPerMessage) {
      return conn.push(this.#o.metrics.errorFrame(undefined, new StormError("too_large", `Cannot accept ${frames.length} frames in one message (max ${LIMITS.maxFramesPerMessage})`)));
    }
    for (const raw of frames) {
      try {
        this.#handler.handle(conn, checkFrame(raw));
      } catch (err) {
        const id = typeof (raw as { id?: unknown })?.id === "number" ? (raw as { id: number }).id : undefined;
        conn.push(this.#o.metrics.errorFrame(id, err));
      }
    }
  }

  #checkHeartbeats(): void {
    const cutoff = this.#o.clock.now() - this.#o.heartbeatMs;
    for (const c of this.#conns) {
      if (c.lastSeen < cutoff) c.close(4102, "heartbeat_timeout");
    }
    for (const ws of this.#wss.clients) ws.ping();
  }
}

/** Answers an upgrade request with an HTTP error and a typed body instead of a WebSocket. */
function refuse(socket: Duplex, status: string, err: unknown, metrics: EdgeMetrics): void {
  metrics.error(err);
  metrics.http.inc(["/ws", status.slice(0, 3)]);
  socket.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json\r\n\r\n${JSON.stringify({ error: errorFields(err) })}`);
}
