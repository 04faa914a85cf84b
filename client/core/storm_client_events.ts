import type { ConnectionStatus } from "./connection_status.ts";
import type { StormClientError } from "./errors.ts";
import type { PublishResult } from "./publisher.ts";
import type { WireEvent } from "./wire_tap.ts";

/** Events of the client. */
export interface StormClientEvents {
  /** Connection state, transport and RTT changed. */
  status(s: ConnectionStatus): void;
  /**
   * Authenticated on a (new) connection: the user, their channels, read markers, and per channel
   * (only those with any) the unread messages from others and the mentions of the user after the marker.
   */
  welcome(w: { user: string; channels: string[]; reads: Record<string, number>; unread: Record<string, number>; mentions: Record<string, number> }): void;
  /** The user's channel list changed (on any of their connections). */
  channels(c: { ch: string; joined: boolean }): void;
  /** A read marker of this user moved (this tab, another tab or another device). */
  read(r: { ch: string; seq: number }): void;
  /** A publish was committed (from any channel handle of this client). */
  published(r: PublishResult): void;
  /** Every frame sent and received, and each connection's end (for inspectors and test recorders). */
  wire(e: WireEvent): void;
  /** A connection-level problem (the client keeps reconnecting unless it is an `AuthError`). */
  error(e: StormClientError): void;
}
