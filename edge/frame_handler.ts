import type { Buffer } from "node:buffer";
import { RejectedError, StormError } from "../runtime/core/errors.ts";
import type { Connection } from "./connection.ts";
import { type Command, type Dispatcher, replyTo } from "./dispatcher.ts";
import type { EdgeMetrics } from "./edge_metrics.ts";
import { errorFrame } from "./frames.ts";
import { LIMITS } from "./schemas.ts";
import { checkFrame } from "./validate.ts";

const MAX_INFLIGHT = 4_096;

/**
 * The WebSocket transport's command adapter: decodes a connection's messages into commands, runs
 * them through the `Dispatcher`, and queues each reply on the connection. Every request frame with
 * an `id` gets exactly one reply frame with that id: its result or a typed error.
 */
export class FrameHandler {
  constructor(
    private readonly dispatcher: Dispatcher,
    /** Re-authentication of an open connection (an `auth` frame): the reply frame. */
    private readonly reauth: (conn: Connection, token: string, id: number | undefined) => Promise<string>,
    /** Counts the errors sent and the in-flight refusals (the dispatcher counts its own). */
    private readonly metrics?: EdgeMetrics,
  ) {}

  /** Parses one WebSocket message: a frame or an array of frames. A bad frame fails alone. */
  onData(conn: Connection, data: Buffer): void {
    if (data.length > LIMITS.maxFrameBytes) {
      return conn.push(this.#errorFrame(undefined, new StormError("too_large", `Cannot accept a ${data.length}-byte message (max ${LIMITS.maxFrameBytes})`)));
    }
    let parsed: unknown;
    try {
      // Text messages are valid UTF-8: \`ws\` closes a socket that sends anything else (1007).
      parsed = JSON.parse(data.toString("utf8"));
    } catch {
      return conn.push(this.#errorFrame(undefined, new StormError("bad_request", "Cannot parse frame: invalid JSON")));
    }
    const frames = Array.isArray(parsed) ? parsed : [parsed];
    if (frames.length > LIMITS.maxFramesPerMessage) {
      return conn.push(this.#errorFrame(undefined, new StormError("too_large", `Cannot accept ${frames.length} frames in one message (max ${LIMITS.maxFramesPerMessage})`)));
    }
    for (const raw of frames) {
      try {
        this.handle(conn, checkFrame(raw));
      } catch (err) {
        conn.push(this.#errorFrame(frameId(raw), err));
      }
    }
  }

  handle(conn: Connection, f: Command): void {
    const id = "id" in f ? f.id : undefined;
    // A connection's unanswered requests are bounded (G6): each one holds memory on this node.
    if (conn.inflight >= MAX_INFLIGHT) {
      this.metrics?.rateLimit("inflight");
      conn.push(this.#errorFrame(id, new RejectedError("rate_limited", `Too many requests in flight on this connection (max ${MAX_INFLIGHT})`)));
      return;
    }
    conn.inflight++;
    // `auth` on an open WebSocket renews its token; other transports send a token per request.
    const run = f.t === "auth" ? this.reauth(conn, f.token, f.id) : this.dispatcher.execute(conn.principal, f, conn).then((r) => replyTo(f, r));
    run.then(
      (frame) => {
        conn.inflight--;
        if (frame) conn.push(frame);
      },
      (err) => {
        conn.inflight--;
        conn.push(this.#errorFrame(id, err));
      },
    );
  }

  /** `errorFrame`, counted by code. */
  #errorFrame(id: number | undefined, err: unknown): string {
    this.metrics?.error(err);
    return errorFrame(id, err);
  }
}

/** The `id` of a raw frame that failed validation, when it has a usable one. */
export function frameId(raw: unknown): number | undefined {
  return typeof (raw as { id?: unknown })?.id === "number" ? (raw as { id: number }).id : undefined;
}
