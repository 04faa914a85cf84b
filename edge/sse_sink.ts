import { Buffer } from "node:buffer";
import type { ServerResponse } from "node:http";
import type { ErrorCode } from "../runtime/core/error_codes.ts";
import { StormError } from "../runtime/core/errors.ts";
import type { SocketLike } from "./connection.ts";
import { errorFrame } from "./frames.ts";
import { formatPositions, type Positions } from "./positions.ts";
import { advance } from "./stream_position.ts";
import type { SharedFrame } from "./shared_frame.ts";

const DATA = Buffer.from("data: ");
const END = Buffer.from("\n\n");
/**
 * A Server-Sent Events response as a connection's sink. Each frame is one event
 * (`data: <frame>\n\n`; JSON text has no raw newline); an event carrying `msgs` also carries
 * `id: <position list>`: the position of every channel of the stream once this event is read, so
 * `Last-Event-ID` resumes exactly after it (G4). Until `open`, events wait in memory (counted in
 * `bufferedAmount`): nothing is sent before the stream's status is known.
 */
export class SseSink implements SocketLike {
  #pending: Buffer[] | undefined = [];
  #pendingBytes = 0;
  #ended = false;

  constructor(
    private readonly res: ServerResponse,
    /** The stream's positions, moved forward by every `msgs` event written. */
    readonly positions: Positions,
    /** Test-only switch: events carry no `id`, so a reconnect cannot resume (the conformance suite must catch it). */
    private readonly dropIds = false,
  ) {}

  get bufferedAmount(): number {
    return this.#pendingBytes + this.res.writableLength;
  }

  /** Sends the status and headers, then the events written so far. */
  open(): void {
    this.res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no", connection: "keep-alive" });
    this.res.flushHeaders();
    const pending = this.#pending!;
    this.#pending = undefined;
    this.#pendingBytes = 0;
    if (pending.length > 0) this.res.write(Buffer.concat(pending));
    // Closed while waiting (a catch-up past --max-buffered): the events, its final err, the end.
    if (this.#ended) this.res.end();
  }

  send(data: string | Buffer): void {
    this.writeFrames([typeof data === "string" ? data : data.toString("utf8")]);
  }

  writeFrames(frames: ReadonlyArray<SharedFrame | string>): void {
    if (this.#ended) return;
    const parts: Buffer[] = [];
    for (const f of frames) {
      if (advance(this.positions, f) && !this.dropIds) parts.push(Buffer.from(`id: ${formatPositions(this.positions)}\n`));
      parts.push(DATA, typeof f === "string" ? Buffer.from(f, "utf8") : f.bytes, END);
    }
    this.#write(Buffer.concat(parts));
  }

  /** A comment line: keeps proxies from closing an idle stream, and lets the client see it is alive. */
  heartbeat(now: number): void {
    if (!this.#ended && !this.#pending) this.res.write(`: hb ${now}\n\n`);
  }

  /** Ends the stream after a final `err` event naming `reason` (an error code). */
  close(_code: number, reason: string): void {
    if (this.#ended) return;
    const err = errorFrame(undefined, new StormError(reason as ErrorCode, `Stream ended: ${reason}; reconnect with Last-Event-ID to resume`));
    this.#write(Buffer.concat([DATA, Buffer.from(err), END]));
    this.#ended = true;
    if (!this.#pending) this.res.end();
  }

  get ended(): boolean {
    return this.#ended;
  }

  #write(bytes: Buffer): void {
    if (this.#pending) {
      this.#pending.push(bytes);
      this.#pendingBytes += bytes.length;
    } else this.res.write(bytes);
  }
}
