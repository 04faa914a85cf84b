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
  /** A message; with `parent`, a reply in the thread of that message; `system`: from a backend (server API), no membership needed. */
  | { type: "publish"; user: string; clientId: string; body: string; parent?: number; system?: true }
  /** Changes to message `ref`, each a journal entry of its own (a `PublishAck` answers them, G3 by `clientId`). */
  | { type: "edit"; user: string; clientId: string; ref: number; body: string }
  | { type: "delete"; user: string; clientId: string; ref: number }
  | { type: "react"; user: string; clientId: string; ref: number; emoji: string; remove?: boolean }
  | { type: "subscribe"; user: string; edge: string; after: number; limit: number }
  | { type: "unsubscribe"; edge: string }
  /**
   * Entries as journaled; with `current`, messages in their current version (`ViewEntry`); with
   * `thread`, that message and its replies only (current versions).
   */
  | { type: "history"; user: string; after?: number; before?: number; limit: number; current?: boolean; thread?: number }
  | { type: "visibility"; user: string; visibility: Visibility }
  | { type: "role"; user: string; member: string; role: Exclude<Role, "owner"> }
  | { type: "kick"; user: string; member: string }
  | { type: "ban"; user: string; member: string; unban?: boolean }
  /** Mutes `member` for `ms` (0 unmutes). */
  | { type: "mute"; user: string; member: string; ms: number }
  | { type: "info"; user: string }
  | { type: "members"; user: string }
  | { type: "presence"; edge: string; user: string; online: boolean }
  | { type: "typing"; user: string }
  /** Checks a read marker before the session stores it: the user must be a member; answers the seq clamped to the last one. */
  | { type: "mark_read"; user: string; seq: number }
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
  /** Whether webhooks want this channel's presence changes (each then costs a statement): the server API sets it. */
  | { type: "hooks"; presence: boolean }
  /** Erases a user from the channel (tombstones, membership); `drop` empties a direct conversation. */
  | { type: "erase"; user: string; drop?: boolean }
  /** Activates the actor without doing anything else (takeover, planned migration). */
  | { type: "wake" }
  /** An edge has handed every batch up to `seq` to its sockets (flow control). */
  | { type: "delivered"; edge: string; seq: number }
  | { type: "flow_check" }
  /** The edge's node incarnation holds no lease: it will never report again (flow control). */
  | { type: "edge_gone"; edge: string };

export type Visibility = "public" | "private";

/** A member's role; each outranks the next: an owner may act on moderators, a moderator on members. */
export type Role = "owner" | "moderator" | "member";

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

/** A journal entry as history shows it with `current`: a message in its current version. */
export interface ViewEntry extends JournalEntry {
  /** Edited at least once: `body` is the latest edit's. */
  edited?: true;
  /** Deleted: a tombstone, `body` empty (entries editing it lose their text too). */
  deleted?: true;
  /** Per emoji, how many users react with it now (each user counts once). */
  reactions?: Record<string, number>;
  /** Replies in this message's thread. */
  replies?: number;
}

export interface HistoryReply {
  msgs: ViewEntry[];
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
  | { type: "visibility"; ch: string; visibility: Visibility; user: string }
  | { type: "role"; ch: string; member: string; role: Role; user: string }
  | { type: "mute"; ch: string; member: string; until: number; user: string }
  | { type: "user"; user: string; event: UserEvent }
  /** The channel stopped sending to this edge (it lagged too long): its sockets resubscribe from their cursors. */
  | { type: "dropped"; ch: string }
  /** Close every connection of `user` on this edge with the close code of `code`. */
  | { type: "close_user"; user: string; code: "account_erased" | "disconnected" | "token_revoked" };

/** Per-user events, sent to every connection of that user (multi-tab / multi-device sync). */
export type UserEvent =
  | { t: "read"; ch: string; seq: number }
  | { t: "joined"; ch: string }
  /** Added to a channel by another user (`by`). */
  | { t: "invited"; ch: string; by: string }
  /** Out of a channel: by leaving, or removed by a moderator (`reason`). */
  | { t: "left"; ch: string; reason?: "kicked" | "banned" }
  /** A new message `seq` in a direct conversation, from `from`. */
  | { t: "dm"; ch: string; seq: number; from: string }
  /** Message `seq` names the user (`@nick`). */
  | { t: "mention"; ch: string; seq: number; from: string }
  /** An event of the user's sync queue (`/api/sync/send` from another device, a broadcast). */
  | ({ t: "sync" } & SyncItem);

/** Messages a session actor (one per user) accepts. */
export type SessionMsg =
  | { type: "connect"; edge: string }
  | { type: "disconnect"; edge: string }
  | { type: "read"; ch: string; seq: number }
  /** Added to `ch`, by `by` when another user added them (invitation, a new direct conversation). */
  | { type: "joined"; ch: string; by?: string }
  | { type: "left"; ch: string; reason?: "kicked" | "banned" }
  /** From a channel actor: message `seq` is for this user's attention. */
  | { type: "notify"; ev: "dm" | "mention"; ch: string; seq: number; from: string }
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
  /** Per channel with any: messages from others after the read marker (at most `UNREAD_CAP`). */
  unread: Record<string, number>;
  /** Per channel with any: messages naming the user after the read marker. */
  mentions: Record<string, number>;
  /** Per channel: its last seq when the view was made. */
  lasts: Record<string, number>;
  connections: number;
}
