import type { Buffer } from "node:buffer";
import { RejectedError } from "../runtime/core/errors.ts";
import type { Timer } from "../runtime/core/clock.ts";
import { Connection, type SocketLike } from "./connection.ts";
import type { RouteContext, RouteReply } from "./http_api.ts";
import { formatPositions, parsePositions, type Positions } from "./positions.ts";
import type { SharedFrame } from "./shared_frame.ts";
import { type StreamDeps, streamPrincipal, subscribeAll } from "./http_stream.ts";
import { advance, frameRank } from "./stream_position.ts";

/** Longest and default `wait` of a long-poll, in seconds. */
const MAX_WAIT_S = 30;
const DEFAULT_WAIT_S = 25;

/** A long-poll request's sink: it keeps the frames for the answer and moves the positions with them. */
class PollSink implements SocketLike {
  readonly frames: Array<SharedFrame | string> = [];
  #bytes = 0;
  hasMsgs = false;
  onMsgs: (() => void) | undefined;
  closedWith: string | undefined;

  constructor(readonly positions: Positions) {}

  get bufferedAmount(): number {
    return this.#bytes;
  }

  send(data: string | Buffer): void {
    this.writeFrames([typeof data === "string" ? data : data.toString("utf8")]);
  }

  writeFrames(frames: ReadonlyArray<SharedFrame | string>): void {
    for (const f of frames) {
      this.frames.push(f);
      this.#bytes += typeof f === "string" ? f.length : f.text.length;
      if (advance(this.positions, f)) this.hasMsgs = true;
    }
    if (this.hasMsgs) this.onMsgs?.();
  }

  close(_code: number, reason: string): void {
    this.closedWith = reason;
    this.onMsgs?.();
  }
}

/**
 * `GET /poll?ch=<channel>:<seq>&...&wait=<s>`: a request that waits until any channel has messages
 * past its position, then answers `{frames, pos}`. Each request is a short-lived `Connection` on
 * the same subscribe/resume machinery as a WebSocket (G4), so any node answers any poll: the
 * positions travel with the client, nothing is kept between polls.
 */
export class PollTransport {
  /** The answer of every poll waiting now. */
  readonly #waiting = new Set<() => void>();

  constructor(private readonly d: StreamDeps) {}

  get count(): number {
    return this.#waiting.size;
  }

  async handle({ req, res, url }: RouteContext): Promise<RouteReply> {
    const d = this.d;
    const p = await streamPrincipal(d.auth, req, url);
    d.limits?.request(p.user);
    const positions = parsePositions(url.searchParams.getAll("ch"));
    if (positions.size === 0) throw new RejectedError("bad_request", "Cannot poll nothing: name at least one channel (ch=<channel>:<seq>)");
    const wait = waitSeconds(url.searchParams.get("wait"));
    const sink = new PollSink(new Map(positions));
    const conn = new Connection(d.nextId(), p, sink, d.turn, d.maxBufferedBytes, d.clock.now(), "json", d.metrics.sink("poll"));
    let timer: Timer | undefined;
    let done = false;
    let answer: () => void = () => {};
    const finish = () => {
      if (done) return false;
      done = true;
      timer?.cancel();
      conn.closed = true;
      this.#waiting.delete(answer);
      d.onClosed(conn, false);
      return true;
    };
    res.once("close", finish);
    d.subs.quiet(conn);
    try {
      await subscribeAll(d.subs, conn, positions);
    } catch (err) {
      finish();
      throw err;
    }
    return new Promise<RouteReply>((resolve) => {
      answer = () => {
        if (!finish()) return;
        // A slow reader or a move that could not resume: the client polls again from `pos`.
        const frames = [...sink.frames].sort((a, b) => frameRank(a) - frameRank(b));
        const texts = frames.map((f) => (typeof f === "string" ? f : f.text));
        res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" })
          .end(`{"frames":[${texts.join(",")}],"pos":${JSON.stringify(formatPositions(sink.positions))}}`);
        resolve(undefined);
      };
      if (done) return resolve(undefined);
      this.#waiting.add(answer);
      sink.onMsgs = answer;
      // What the catch-up queued this turn reaches the sink at the turn's end: look then.
      d.turn.later(() => {
        if (sink.hasMsgs || sink.closedWith || wait === 0) answer();
        else timer = d.clock.setTimeout(answer, wait * 1000);
      });
    });
  }

  /** Answers every waiting poll now (shutdown): each client polls again, elsewhere. */
  close(): void {
    for (const answer of [...this.#waiting]) answer();
  }
}

function waitSeconds(v: string | null): number {
  if (v === null) return DEFAULT_WAIT_S;
  if (!/^\d+$/.test(v) || Number(v) > MAX_WAIT_S) throw new RejectedError("bad_request", `Cannot accept wait "${v.slice(0, 20)}": an integer from 0 to ${MAX_WAIT_S} (seconds)`);
  return Number(v);
}
