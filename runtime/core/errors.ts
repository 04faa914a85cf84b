import type { ErrorCode } from "./error_codes.ts";

/**
 * Errors raised by the actor core. Each carries the client-facing `code` it maps to, so the edge
 * never has to guess; see `error_codes.ts` for the table of codes and retry rules.
 */
export class StormError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InvalidActorIdError extends StormError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("bad_request", message, options);
  }
}

/** An ask got no reply in time. The message may or may not have been processed. */
export class AskTimeoutError extends StormError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("timeout", message, options);
  }
}

/** This activation was fenced by a newer one: it must stop writing and deactivate. */
export class FencedError extends StormError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("unavailable", message, options);
  }
}

/** The actor crashed while the message was in its batch; it restarts from storage. */
export class ActorRestartedError extends StormError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("unavailable", message, options);
  }
}

/** The node is shutting down or lost its lease; the caller should retry elsewhere. */
export class UnavailableError extends StormError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("unavailable", message, options);
  }
}

/** A typed rejection decided by an actor (not a member, channel missing, ...). */
export class RejectedError extends StormError {}

/** Plain, structured-clone-safe form of an error, as it crosses threads and nodes. */
export interface WireError {
  code: ErrorCode;
  message: string;
}

export function toWireError(err: unknown): WireError {
  if (err instanceof StormError) return { code: err.code, message: err.message };
  return { code: "internal", message: err instanceof Error ? err.message : String(err) };
}

export function fromWireError(err: WireError): StormError {
  return new StormError(err.code, err.message);
}
