/**
 * The wire shapes the SDK speaks, as docs/PROTOCOL.md fixes them. The SDK keeps its own copy of
 * the types (not the server's `edge/` modules) so that its core depends on nothing platform-bound.
 */

/** What a journal entry does to the earlier message `ref` (PROTOCOL.md "Chat"). */
export type ChangeKind = "edit" | "delete" | "react" | "unreact";

/**
 * A committed journal entry, as `msgs` and `hist` frames carry it. A change of an earlier message
 * has `kind` and `ref` (an edit's `body` is the new text, a reaction's its emoji, a delete's `""`);
 * a thread reply has `ref` alone. `hist` shows each message in its current version (`edited`,
 * `deleted`, `reactions`, `replies`).
 */
export interface Message {
  seq: number;
  ts: number;
  from: string;
  cid: string;
  body: string;
  kind?: ChangeKind;
  ref?: number;
  edited?: true;
  deleted?: true;
  reactions?: Record<string, number>;
  replies?: number;
}

export interface ChannelInfo {
  name: string;
  visibility: "public" | "private";
  topic: string;
  owner: string;
  members: number;
  last: number;
  createdAt: number;
}

/** A frame the client sends (WebSocket message or `POST /cmd` body element). */
export type ClientFrame =
  | { t: "auth"; token: string }
  | { t: "ping"; id?: number }
  | { t: "create"; id: number; ch: string; visibility?: "public" | "private"; topic?: string }
  | { t: "join" | "leave" | "info" | "members" | "unsub"; id: number; ch: string }
  | { t: "invite"; id: number; ch: string; user: string }
  | { t: "dm"; id: number; user: string }
  | { t: "sub"; id: number; ch: string; after: number }
  | { t: "pub"; id: number; ch: string; cid: string; body: string }
  | { t: "edit"; id: number; ch: string; seq: number; cid: string; body: string }
  | { t: "delete"; id: number; ch: string; seq: number; cid: string }
  | { t: "react" | "unreact"; id: number; ch: string; seq: number; cid: string; emoji: string }
  | { t: "hist"; id: number; ch: string; before?: number; after?: number; limit?: number }
  | { t: "topic"; id: number; ch: string; topic: string }
  | { t: "typing"; ch: string }
  | { t: "read"; id?: number; ch: string; seq: number };

/** A frame the server sends. Fields by `t` as in PROTOCOL.md's server-frame table. */
export type ServerFrame =
  | { t: "welcome"; user: string; role: "user" | "admin"; channels: string[]; reads: Record<string, number>; unread: Record<string, number>; mentions: Record<string, number> }
  | { t: "ok"; id: number; ch: string; info?: ChannelInfo }
  | { t: "ack"; id: number; ch: string; seq: number; dup?: true }
  | { t: "subbed"; id?: number; ch: string; last: number; first: number; truncated?: true }
  | { t: "msgs"; ch: string; m: Message[] }
  | { t: "hist"; id: number; ch: string; m: Message[]; more: boolean; last: number }
  | { t: "info"; id: number; ch: string; info: ChannelInfo }
  | { t: "members"; id: number; ch: string; members: Record<string, "owner" | "member">; online: string[] }
  | { t: "pong"; id?: number; ts: number }
  | { t: "err"; id?: number; code: string; message: string; retry: "retry" | "reconnect" | "never" }
  | { t: "presence"; ch: string; user: string; online: boolean }
  | { t: "typing"; ch: string; user: string }
  | { t: "member"; ch: string; user: string; joined: boolean }
  | { t: "topic"; ch: string; topic: string; user: string }
  | { t: "user"; ev: "read"; ch: string; seq: number }
  | { t: "user"; ev: "joined" | "left" | "invited"; ch: string }
  | { t: "user"; ev: "dm" | "mention"; ch: string; seq: number; from: string }
  | { t: "user"; ev: "sync"; ch?: undefined }
  | { t: "reauth"; exp: number };

/** A request frame without its `id`: the client assigns ids. */
export type RequestFrame = DistributiveOmit<Extract<ClientFrame, { id: number }>, "id">;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Parses one server message (a frame or an array of frames). */
export function parseServerMessage(text: string): ServerFrame[] {
  const parsed = JSON.parse(text) as ServerFrame | ServerFrame[];
  return Array.isArray(parsed) ? parsed : [parsed];
}

/**
 * A position list as the HTTP transports take it: `ch=<name>:<seq>` per channel (split at the last
 * colon, since `dm:` names contain colons).
 */
export function positionQuery(positions: ReadonlyMap<string, number>): string {
  return [...positions].map(([ch, seq]) => `ch=${encodeURIComponent(`${ch}:${seq}`)}`).join("&");
}
