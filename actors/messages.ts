import type { JournalEntry } from "../storage/store.ts";
import type { RetentionPolicy } from "./retention.ts";
import type { SyncItem, SyncRead } from "./sync_queue.ts";

/** Messages a channel actor accepts. `user` is always the authenticated caller, set by the edge. */
export type ChannelMsg =
  | { type: "create"; user: string; visibility: Visibility; topic: string; members?: string[] }
  | { type: "join"; user: string }
  | { type: "leave"; user: string }
  | { type: "invite"; user: string; member: string }
  | { type: "topic"; user: string; topic: string }
  | { type: "publish"; user: string; clientId: string; body: string; system?: true }
  | { type: "subscribe"; user: string; edge: string; after: number; limit: number }
  | { type: "unsubscribe"; edge: string }
  | { type: "history"; user: string; after?: number; before?: number; limit: number }
  | { type: "info"; user: string }
  | { type: "members"; user: string }
  | { type: "presence"; edge: string; user: string; online: boolean }
  | { type: "typing"; user: string }
  | { type: "edge_down"; edge: string }
  /** Sets (or with null clears) the channel's retention policy: its owner, or an admin. */
  | { type: "retention"; user: string; admin: boolean; policy: RetentionPolicy | null }
  | { type: "retention_get"; user: string }
  /** Applies the retention policy now (the channel's own age timer). */
  | { type: "retain" }
  /** Server API (the backend is trusted): add or remove a member whatever the channel's rules. */
  | { type: "admin_member"; member: string; add: boolean }
  /** Server API: who is online, and the member count. */
  | { type: "presence_get" }
  /** Erases a user from the channel (tombstones, membership); `drop` empties a direct conversation. */
  | { type: "erase"; user: string; drop?: boolean }
  /** Activates the actor without doing anything else (takeover, planned migration). */
  | { type: "wake" }
  /** An edge has handed every batch up to `seq` to its sockets (flow control). */
  | { type: "delivered"; edge: string; seq: number }
  | { type: "flow_check" };

export type Visibility = "public" | "private";

export interface PublishAck {
  seq: number;
  /** True when this client id had already been committed: `seq` is the original one (G3). */
  duplicate: boolean;
}

export interface SubscribeReply {
  /** The epoch of the activation that registered the subscription (edges resubscribe past it). */
  epoch?: number;
  /** The channel's last committed seq when the reply was made. */
  last: number;
  /** Messages with seq > after, ascending; the next page starts after the last of them. */
  msgs: JournalEntry[];
  /** True when more messages exist between the last returned and `last`: page on with `history`. */
  more: boolean;
  /** True when `after` was older than the retained history: messages before `first` are gone. */
  truncated: boolean;
  first: number;
}

export interface HistoryReply {
  msgs: JournalEntry[];
  last: number;
  first: number;
  more: boolean;
  truncated: boolean;
}

export interface ChannelInfo {
  name: string;
  visibility: Visibility;
  topic: string;
  owner: string;
  members: number;
  last: number;
  createdAt: number;
}

/** Events actors push to edges (`edge:<nodeId>`); edges fan them out to local sockets. */
export type EdgeEvent =
  | { type: "msgs"; ch: string; m: JournalEntry[] }
  | { type: "presence"; ch: string; user: string; online: boolean }
  | { type: "typing"; ch: string; user: string }
  | { type: "member"; ch: string; user: string; joined: boolean }
  | { type: "topic"; ch: string; topic: string; user: string }
  | { type: "user"; user: string; event: UserEvent }
  /** The channel stopped sending to this edge (it lagged too long): its sockets resubscribe from their cursors. */
  | { type: "dropped"; ch: string }
  /** Close every connection of `user` on this edge with the close code of `code`. */
  | { type: "close_user"; user: string; code: "account_erased" | "disconnected" | "token_revoked" };

/** Per-user events, sent to every connection of that user (multi-tab / multi-device sync). */
export type UserEvent =
  | { t: "read"; ch: string; seq: number }
  | { t: "joined"; ch: string }
  | { t: "left"; ch: string }
  /** An event of the user's sync queue (`/api/sync/send` from another device, a broadcast). */
  | ({ t: "sync" } & SyncItem);

/** Messages a session actor (one per user) accepts. */
export type SessionMsg =
  | { type: "connect"; edge: string }
  | { type: "disconnect"; edge: string }
  | { type: "read"; ch: string; seq: number }
  | { type: "joined"; ch: string }
  | { type: "left"; ch: string }
  | { type: "get" }
  /** Adds an event to the user's sync queue; answers the stored `SyncItem`. */
  | { type: "sync_push"; item: Omit<SyncItem, "n" | "id"> }
  /** Reads the sync queue after a position or since a time; answers a `SyncView`. */
  | { type: "sync_read"; after?: number; since?: number }
  | { type: "edge_down"; edge: string }
  | { type: "wake" }
  /** Erasure: forget everything about the user and close their connections; answers `{ channels }` held before. */
  | { type: "erase" }
  /**
   * Another user was erased: drop the channels that no longer exist (their direct conversations)
   * with their read markers, and every `/api/sync` event that names the user.
   */
  | { type: "forget"; user: string; channels: string[] }
  /** Server API: close every connection of the user, on every edge, with this code; answers how many edges. */
  | { type: "close"; code: "disconnected" | "token_revoked" };

export interface SyncView extends SyncRead {
  channels: string[];
  /** Events the queue holds now. */
  retained: number;
}

export interface SessionView {
  user: string;
  channels: string[];
  reads: Record<string, number>;
  connections: number;
}
