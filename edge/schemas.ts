import { type Static, type TSchema, Type } from "@sinclair/typebox";

/**
 * Every request body and WebSocket frame Storm accepts, as JSON Schema. The same objects validate
 * input (compiled in `validate.ts`) and generate the OpenAPI document (`openapi.ts`).
 */
export const LIMITS = {
  /** Largest WebSocket message or HTTP body accepted, in bytes. */
  maxFrameBytes: 64 * 1024,
  /** Past this a WebSocket message is not even buffered: the socket is closed (1009). */
  hardMaxMessageBytes: 1024 * 1024,
  maxBodyChars: 16 * 1024,
  maxFramesPerMessage: 256,
  maxHistoryPage: 500,
  /** Largest `/api/sync` payload, serialized. */
  maxSyncPayloadBytes: 4 * 1024,
} as const;

export const UserName = Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$", description: "A nickname." });
export const NewChannelName = Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$", description: "A channel name (no colon)." });
export const ChannelName = Type.String({
  pattern: "^([A-Za-z0-9][A-Za-z0-9_.-]{0,79}|dm:[A-Za-z0-9][A-Za-z0-9_.-]{0,31}:[A-Za-z0-9][A-Za-z0-9_.-]{0,31})$",
  description: "A channel name, or `dm:<user>:<user>` (sorted) for a direct conversation.",
});
/** Text PostgreSQL can store: no NUL, no lone UTF-16 surrogate (else a retry could never succeed). */
const STORABLE = "^(?:[^\\u0000\\uD800-\\uDFFF]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])*$";
export const ClientId = Type.String({ minLength: 1, maxLength: 64, pattern: STORABLE, description: "Client-chosen id, unique per channel: the key of exactly-once publish." });
export const Body = Type.String({ maxLength: LIMITS.maxBodyChars, pattern: STORABLE });
const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const ReqId = Type.Integer({ minimum: 0, maximum: 2 ** 31, description: "Echoed in the reply." });
const Limit = Type.Integer({ minimum: 1, maximum: LIMITS.maxHistoryPage });
export const Visibility = Type.Union([Type.Literal("public"), Type.Literal("private")]);
export const Topic = Type.String({ maxLength: 500, pattern: STORABLE });
const Members = Type.Array(UserName, { maxItems: 1000, description: "Users added as members at once." });
const MsgSeq = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: "The seq of a message." });
/** One emoji (or any short symbol without spaces): what a reaction counts. */
const Emoji = Type.String({ minLength: 1, maxLength: 32, pattern: "^(?:[^\\s\\u0000\\uD800-\\uDFFF]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])+$" });
const ModeratedRole = Type.Union([Type.Literal("moderator"), Type.Literal("member")]);
/** Longest mute (30 days), in ms; 0 lifts a mute. */
const MuteMs = Type.Integer({ minimum: 0, maximum: 30 * 24 * 3600 * 1000, description: "Mute length in ms (0 unmutes; at most 30 days)." });
const SearchText = Type.String({ minLength: 1, maxLength: 200, pattern: STORABLE, description: "Web search syntax: words, \"a phrase\", or, -word." });
const SearchCursor = Type.String({ maxLength: 300, pattern: "^\\d{1,16}\\.\\d{1,16}\\.channel:.+$", description: "The `next` of the previous page." });
const SearchLimit = Type.Integer({ minimum: 1, maximum: 100 });

const frame = <T extends string, P extends Record<string, TSchema>>(t: T, props: P) =>
  Type.Object({ t: Type.Literal(t), ...props }, { additionalProperties: false });

/** Client-to-server WebSocket frames, by `t`. */
export const ClientFrames = {
  auth: frame("auth", { id: Type.Optional(ReqId), token: Type.String({ maxLength: 4096 }) }),
  ping: frame("ping", { id: Type.Optional(ReqId) }),
  create: frame("create", { id: ReqId, ch: NewChannelName, visibility: Type.Optional(Visibility), topic: Type.Optional(Topic), members: Type.Optional(Members) }),
  join: frame("join", { id: ReqId, ch: ChannelName }),
  leave: frame("leave", { id: ReqId, ch: ChannelName }),
  invite: frame("invite", { id: ReqId, ch: ChannelName, user: UserName }),
  dm: frame("dm", { id: ReqId, user: UserName }),
  sub: frame("sub", { id: ReqId, ch: ChannelName, after: Type.Optional(Seq) }),
  unsub: frame("unsub", { id: ReqId, ch: ChannelName }),
  pub: frame("pub", { id: ReqId, ch: ChannelName, cid: ClientId, body: Body, parent: Type.Optional(MsgSeq) }),
  edit: frame("edit", { id: ReqId, ch: ChannelName, seq: MsgSeq, cid: ClientId, body: Body }),
  delete: frame("delete", { id: ReqId, ch: ChannelName, seq: MsgSeq, cid: Type.Optional(ClientId) }),
  react: frame("react", { id: ReqId, ch: ChannelName, seq: MsgSeq, cid: ClientId, emoji: Emoji }),
  unreact: frame("unreact", { id: ReqId, ch: ChannelName, seq: MsgSeq, cid: ClientId, emoji: Emoji }),
  hist: frame("hist", { id: ReqId, ch: ChannelName, before: Type.Optional(Seq), after: Type.Optional(Seq), limit: Type.Optional(Limit), thread: Type.Optional(MsgSeq) }),
  info: frame("info", { id: ReqId, ch: ChannelName }),
  members: frame("members", { id: ReqId, ch: ChannelName }),
  topic: frame("topic", { id: ReqId, ch: ChannelName, topic: Topic }),
  typing: frame("typing", { ch: ChannelName }),
  read: frame("read", { id: Type.Optional(ReqId), ch: ChannelName, seq: Seq }),
  visibility: frame("visibility", { id: ReqId, ch: ChannelName, visibility: Visibility }),
  role: frame("role", { id: ReqId, ch: ChannelName, user: UserName, role: ModeratedRole }),
  kick: frame("kick", { id: ReqId, ch: ChannelName, user: UserName }),
  ban: frame("ban", { id: ReqId, ch: ChannelName, user: UserName }),
  unban: frame("unban", { id: ReqId, ch: ChannelName, user: UserName }),
  mute: frame("mute", { id: ReqId, ch: ChannelName, user: UserName, ms: MuteMs }),
  search: frame("search", { id: ReqId, q: SearchText, before: Type.Optional(SearchCursor), limit: Type.Optional(SearchLimit) }),
} as const;

export type ClientFrameType = keyof typeof ClientFrames;
export type ClientFrame = { [K in ClientFrameType]: Static<(typeof ClientFrames)[K]> }[ClientFrameType];

/** REST request bodies. */
export const DevTokenBody = Type.Object(
  { user: UserName, role: Type.Optional(Type.Union([Type.Literal("user"), Type.Literal("admin")])), ttl: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400, description: "Lifetime in seconds (default 86400)." })) },
  { additionalProperties: false },
);
export const CreateChannelBody = Type.Object(
  { name: NewChannelName, visibility: Type.Optional(Visibility), topic: Type.Optional(Topic), members: Type.Optional(Members) },
  { additionalProperties: false },
);
export const PublishBody = Type.Object({ clientId: ClientId, body: Body, parent: Type.Optional(MsgSeq) }, { additionalProperties: false });
export const EditBody = Type.Object({ clientId: ClientId, body: Body }, { additionalProperties: false });
export const ReactBody = Type.Object({ clientId: ClientId, emoji: Emoji }, { additionalProperties: false });
export const ChannelPatchBody = Type.Object({ topic: Type.Optional(Topic), visibility: Type.Optional(Visibility) }, { additionalProperties: false });
export const RoleBody = Type.Object({ role: ModeratedRole }, { additionalProperties: false });
export const MuteBody = Type.Object({ ms: MuteMs }, { additionalProperties: false });
export const SearchQuery = Type.Object({ q: SearchText, before: Type.Optional(SearchCursor), limit: Type.Optional(SearchLimit) });
export const AddMemberBody = Type.Object({ user: UserName }, { additionalProperties: false });
export const MigrateBody = Type.Object({ actor: Type.String({ minLength: 3, maxLength: 240 }), to: Type.String({ minLength: 1, maxLength: 120 }) }, { additionalProperties: false });
export const DrainBody = Type.Object({ node: Type.String({ minLength: 1, maxLength: 120 }) }, { additionalProperties: false });
export const ChannelListQuery = Type.Object({ after: Type.Optional(Type.String({ maxLength: 200 })), limit: Type.Optional(Limit) });
export const HistoryQuery = Type.Object({ after: Type.Optional(Seq), before: Type.Optional(Seq), limit: Type.Optional(Limit), thread: Type.Optional(MsgSeq) });
export const MessageSeq = MsgSeq;
export const DeleteQuery = Type.Object({ clientId: Type.Optional(ClientId) });

/** Probe replies (`/livez`, `/healthz`, `/readyz`). */
export const LiveReply = Type.Object({ ok: Type.Literal(true) });
export const ReadyReply = Type.Object({
  ready: Type.Boolean(),
  checks: Type.Record(Type.String(), Type.Boolean(), { description: "started (not starting, not stopping), store (answers a read), lease (cluster mode: held)" }),
});

/** `/api/sync` bodies (seed 004's shapes). `payload` is any JSON of at most `LIMITS.maxSyncPayloadBytes` once serialized. */
const SyncType = Type.String({ minLength: 1, maxLength: 100, pattern: STORABLE, description: "The event's type, e.g. `user.action`." });
export const SyncSendBody = Type.Object(
  { type: SyncType, payload: Type.Optional(Type.Unknown()), correlationId: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: STORABLE, description: "A retried send with the same id is the same event." })) },
  { additionalProperties: false },
);
export const SyncBroadcastBody = Type.Object(
  { type: SyncType, payload: Type.Optional(Type.Unknown()), topics: Type.Optional(Type.Array(ChannelName, { maxItems: 100, description: "Only the members of these channels; all users with a channel when absent." })) },
  { additionalProperties: false },
);
export const SyncPollQuery = Type.Object({ since: Type.Optional(Type.String({ maxLength: 8_192, description: "The `cursor` of the last poll, or a millisecond timestamp." })) });

export const MessageSchema = Type.Object({
  seq: Type.Integer(), ts: Type.Integer(),
  // A tombstone (its author's account was erased) has `erased: true` and empty from, cid and body.
  from: Type.Union([UserName, Type.Literal("")]), cid: Type.Union([ClientId, Type.Literal("")]), body: Body,
  erased: Type.Optional(Type.Literal(true)),
  kind: Type.Optional(Type.Union(["edit", "delete", "react", "unreact"].map((k) => Type.Literal(k)), { description: "Absent for a message." })),
  ref: Type.Optional(Type.Integer({ description: "The message an edit, delete or reaction changes; on a message, its thread's root." })),
  edited: Type.Optional(Type.Literal(true)),
  deleted: Type.Optional(Type.Literal(true)),
  reactions: Type.Optional(Type.Record(Type.String(), Type.Integer())),
  replies: Type.Optional(Type.Integer()),
});
export const SearchHitSchema = Type.Object({ ch: ChannelName, seq: Type.Integer(), ts: Type.Integer(), from: UserName, body: Body, edited: Type.Optional(Type.Literal(true)) });
export const ErrorSchema = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), retry: Type.Union([Type.Literal("retry"), Type.Literal("reconnect"), Type.Literal("never")]) }),
});
