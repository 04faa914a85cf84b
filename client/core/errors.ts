import { ERROR_CODES, type ErrorCode } from "../../runtime/core/error_codes.ts";

/** What the client should do about a failure, as the server's error table says (PROTOCOL.md "Errors"). */
export type RetryRule = "retry" | "reconnect" | "never";

/**
 * The base of every error the SDK raises. `code` is a server error code (runtime/core/error_codes.ts)
 * or one of the SDK's own: `closed` (the client was closed), `disconnected` (the connection went away
 * before the answer; the request may or may not have been applied), `request_timeout` (no answer in
 * time). One subclass per retry rule, so `catch (e) { if (e instanceof RetryableError) ... }` follows
 * the table without knowing every code.
 */
export class StormClientError extends Error {
  override name = "StormClientError";
  constructor(
    readonly code: string,
    message: string,
    readonly retry: RetryRule,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Send the same request again after a delay (a publish with the same client id: exactly-once makes it safe). */
export class RetryableError extends StormClientError {
  override name = "RetryableError";
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, "retry", options);
  }
}

/** Open a new connection and resume; the SDK does this by itself and replays what was unanswered. */
export class ReconnectError extends StormClientError {
  override name = "ReconnectError";
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, "reconnect", options);
  }
}

/** The request itself is wrong (or not allowed): sending it again unchanged gets the same answer. */
export class RejectedError extends StormClientError {
  override name = "RejectedError";
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, "never", options);
  }
}

/** The token was refused and the token-refresh callback could not supply one that works. */
export class AuthError extends RejectedError {
  override name = "AuthError";
}

/** The client was closed by the application: pending requests end with this. */
export class ClientClosedError extends RejectedError {
  override name = "ClientClosedError";
  constructor() {
    super("closed", "Cannot complete the request: the client was closed");
  }
}

/** Builds the typed error for a server `err` frame or REST error body, by its code's retry rule. */
export function errorFromServer(code: string, message: string, retry?: RetryRule): StormClientError {
  const rule = retry ?? (code in ERROR_CODES ? ERROR_CODES[code as ErrorCode].retry : "never");
  if (code === "unauthenticated") return new AuthError(code, message);
  if (rule === "retry") return new RetryableError(code, message);
  if (rule === "reconnect") return new ReconnectError(code, message);
  return new RejectedError(code, message);
}
