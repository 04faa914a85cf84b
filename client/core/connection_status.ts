import type { TransportKind } from "./transport.ts";

/**
 * - `connecting`: opening a transport (first time or after a drop);
 * - `connected`: open, answering pings in time;
 * - `degraded`: open, but pings are slow (RTT over `degradedRttMs`) or one went unanswered;
 * - `offline`: not connected and not trying (before `connect()`, after `close()`, after the
 *   reconnect attempts ran out, or the token could not be renewed).
 */
export type ConnectionState = "connecting" | "connected" | "degraded" | "offline";

export interface ConnectionStatus {
  state: ConnectionState;
  /** The transport in use or being tried. */
  transport: TransportKind;
  /** Round trip of the last answered ping, ms (undefined before the first). */
  rtt: number | undefined;
  /** Failed attempts since the last successful connection. */
  attempt: number;
}
