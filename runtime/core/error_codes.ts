/**
 * The closed set of client-facing error codes. Every code has a stable name, an HTTP status for
 * REST, a WebSocket close code where it ends the connection, and a retry rule:
 * - `retry`: send the same request again (same client id: exactly-once makes it safe);
 * - `reconnect`: open a new connection and resume with the last seq seen;
 * - `never`: the request is wrong; retrying it unchanged gives the same answer.
 * Close codes 4000-4099 mean "do not reconnect"; 4100-4199 mean "reconnect and resume".
 */
export const ERROR_CODES = {
  bad_request: { http: 400, retry: "never", description: "The frame or request does not match its schema." },
  too_large: { http: 413, retry: "never", description: "A frame, body or field exceeds its size limit." },
  unauthenticated: { http: 401, retry: "never", description: "Missing, invalid or expired token.", close: 4001 },
  forbidden: { http: 403, retry: "never", description: "Authenticated, but not allowed (role or membership)." },
  not_member: { http: 403, retry: "never", description: "Join the channel before reading or publishing." },
  banned: { http: 403, retry: "never", description: "Banned from this channel by a moderator or its owner." },
  muted: { http: 403, retry: "retry", description: "Muted in this channel; retry after the time given in the message (ms since the epoch)." },
  channel_not_found: { http: 404, retry: "never", description: "No such channel." },
  channel_exists: { http: 409, retry: "never", description: "A channel with this name already exists." },
  not_found: { http: 404, retry: "never", description: "No such route or resource." },
  method_not_allowed: { http: 405, retry: "never", description: "The route exists but not with this HTTP method; the `Allow` header lists its methods." },
  history_truncated: { http: 410, retry: "never", description: "The resume position is older than the retained history." },
  rate_limited: { http: 429, retry: "retry", description: "Too many requests; retry after the delay given (`Retry-After` header on HTTP, `retryMs` on the `err` frame)." },
  timeout: { http: 504, retry: "retry", description: "No answer in time; the request may have been applied: retry with the same client id." },
  unavailable: { http: 503, retry: "retry", description: "The actor is moving or restarting; retry with the same client id." },
  slow_consumer: { http: 503, retry: "reconnect", description: "The client read too slowly; reconnect and resume.", close: 4100 },
  shutting_down: { http: 503, retry: "reconnect", description: "The node is going away; reconnect (to any node) and resume.", close: 4101 },
  heartbeat_timeout: { http: 408, retry: "reconnect", description: "No frame from the client within the heartbeat window.", close: 4102 },
  disconnected: { http: 409, retry: "never", description: "A backend disconnected this user through the server API; reconnect only if the application says so.", close: 4003 },
  token_revoked: { http: 401, retry: "never", description: "The user's tokens issued before a revocation are refused; get a new token, then reconnect.", close: 4004 },
  account_erased: { http: 410, retry: "never", description: "The user's account was erased (right to erasure); their tokens no longer open anything of theirs.", close: 4005 },
  token_expired: { http: 401, retry: "reconnect", description: "The connection's token expired: reconnect with a fresh token and resume (or send `auth` before `exp`).", close: 4103 },
  internal: { http: 500, retry: "retry", description: "An unexpected server error; nothing acknowledged is lost." },
} as const satisfies Record<string, ErrorCodeInfo>;

export interface ErrorCodeInfo {
  http: number;
  retry: "retry" | "reconnect" | "never";
  description: string;
  close?: number;
}

export type ErrorCode = keyof typeof ERROR_CODES;

export function retryRule(code: ErrorCode): ErrorCodeInfo["retry"] {
  return ERROR_CODES[code].retry;
}
