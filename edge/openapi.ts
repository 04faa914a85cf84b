import { ERROR_CODES } from "../runtime/core/error_codes.ts";
import {
  AddMemberBody, ChannelName, ChannelPatchBody, ClientFrames, CreateChannelBody, DevTokenBody, EditBody, ErrorSchema, LiveReply, MessageSchema, MessageSeq, MuteBody,
  PublishBody, ReactBody, ReadyReply, RoleBody, SearchHitSchema, SearchQuery, SyncBroadcastBody, SyncSendBody, UserName,
} from "./schemas.ts";
import { ErasureReport, RetentionBody, RetentionView } from "./data_schemas.ts";
import { KeyCreateBody, RevokeBody, ServerBroadcastBody, ServerCreateChannelBody, ServerMemberBody, ServerPublishBody, WebhookCreateBody } from "./server_schemas.ts";

const json = (schema: unknown) => ({ content: { "application/json": { schema } } });
const errors = {
  default: { description: `Typed error; codes: ${Object.keys(ERROR_CODES).join(", ")}`, ...json(ErrorSchema) },
};
const auth = [{ bearer: [] }];
const key = [{ apiKey: [] }, { apiKeyBearer: [] }];
const chParam = { name: "name", in: "path", required: true, schema: ChannelName };
const seqParam = { name: "seq", in: "path", required: true, schema: MessageSeq };
const userParam = { name: "user", in: "path", required: true, schema: UserName };
const ackReplies = { 201: { description: "committed: { seq, duplicate: false }" }, 200: { description: "clientId already used: its seq, duplicate: true" }, ...errors };
const infoReply = { 200: { description: "ChannelInfo" }, ...errors };
const streamAuth = [{ bearer: [] }, { token: [] }];
const positions = {
  name: "ch", in: "query", required: false, style: "form", explode: true,
  schema: { type: "array", maxItems: 100, items: { type: "string", description: "`<channel>:<seq>` (split at the last colon; no seq: 0)" } },
};
const clientFrame = { oneOf: Object.values(ClientFrames) };

/** The OpenAPI 3.1 document, generated from the very schemas that validate requests. */
export function buildOpenApi(): unknown {
  return {
    openapi: "3.1.0",
    info: { title: "Storm REST API", version: "0.1.0", description: "See docs/PROTOCOL.md for the WebSocket protocol." },
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" }, token: { type: "apiKey", in: "query", name: "token" },
        apiKey: { type: "apiKey", in: "header", name: "X-Api-Key" }, apiKeyBearer: { type: "http", scheme: "bearer", bearerFormat: "sk_ API key" },
      },
      schemas: { Message: MessageSchema, Error: ErrorSchema },
    },
    paths: {
      "/livez": { get: { summary: "Liveness: the process runs and answers (no token)", responses: { 200: { description: "alive", ...json(LiveReply) } } } },
      "/healthz": { get: { summary: "Alias of /livez, kept for existing probes", responses: { 200: { description: "alive", ...json(LiveReply) } } } },
      "/readyz": {
        get: {
          summary: "Readiness (no token): started and not stopping, the store answers, and in cluster mode the lease is held",
          responses: { 200: { description: "ready", ...json(ReadyReply) }, 503: { description: "not ready: the failing checks are false", ...json(ReadyReply) } },
        },
      },
      "/auth/dev-token": { post: { summary: "Development token for a nickname (only without a production secret; role admin only with --dev-admin)", requestBody: json(DevTokenBody), responses: { 200: { description: "token" }, ...errors } } },
      "/channels": {
        get: { summary: "List public channels", security: auth, responses: { 200: { description: "channels" }, ...errors } },
        post: { summary: "Create a channel (the caller becomes its owner)", security: auth, requestBody: json(CreateChannelBody), responses: { 201: { description: "created" }, ...errors } },
      },
      "/channels/{name}": {
        get: { summary: "Channel info", security: auth, parameters: [chParam], responses: { 200: { description: "info" }, ...errors } },
        patch: { summary: "Change the topic (moderators, the owner) or the visibility (the owner)", security: auth, parameters: [chParam], requestBody: json(ChannelPatchBody), responses: infoReply },
      },
      "/channels/{name}/messages": {
        get: {
          summary: "History page: `after` pages forward, `before` (or nothing) pages back from the newest",
          security: auth,
          parameters: [chParam, ...["after", "before", "limit", "thread"].map((n) => ({ name: n, in: "query", schema: { type: "integer", minimum: 0 } }))],
          responses: { 200: { description: "messages", ...json({ type: "object", properties: { messages: { type: "array", items: MessageSchema } } }) }, ...errors },
        },
        post: { summary: "Publish (exactly once per clientId; `parent`: a reply in that message's thread); acknowledged after commit", security: auth, parameters: [chParam], requestBody: json(PublishBody), responses: ackReplies },
      },
      "/channels/{name}/messages/{seq}": {
        patch: { summary: "Edit your message (a new entry referring to it)", security: auth, parameters: [chParam, seqParam], requestBody: json(EditBody), responses: ackReplies },
        delete: {
          summary: "Delete a message (yours, or any as a moderator or the owner): a new entry, the message becomes a tombstone",
          security: auth,
          parameters: [chParam, seqParam, { name: "clientId", in: "query", schema: { type: "string" }, description: "Default `delete:<seq>`: one delete per message." }],
          responses: ackReplies,
        },
      },
      "/channels/{name}/messages/{seq}/reactions": {
        post: { summary: "React with an emoji (each user counts once per emoji)", security: auth, parameters: [chParam, seqParam], requestBody: json(ReactBody), responses: ackReplies },
        delete: { summary: "Take your reaction back", security: auth, parameters: [chParam, seqParam], requestBody: json(ReactBody), responses: ackReplies },
      },
      "/channels/{name}/members/{user}/role": { put: { summary: "Make a member a moderator or a member again (owner only)", security: auth, parameters: [chParam, userParam], requestBody: json(RoleBody), responses: infoReply } },
      "/channels/{name}/bans/{user}": {
        put: { summary: "Ban a user (moderators and the owner, over a lower role): removed and kept out", security: auth, parameters: [chParam, userParam], responses: infoReply },
        delete: { summary: "Unban a user", security: auth, parameters: [chParam, userParam], responses: infoReply },
      },
      "/channels/{name}/mutes/{user}": {
        put: { summary: "Mute a member for `ms` (0 unmutes)", security: auth, parameters: [chParam, userParam], requestBody: json(MuteBody), responses: infoReply },
        delete: { summary: "Unmute a member", security: auth, parameters: [chParam, userParam], responses: infoReply },
      },
      "/search": {
        get: {
          summary: "Full-text search over the messages of your channels, newest first",
          security: auth,
          parameters: Object.entries(SearchQuery.properties).map(([n, schema]) => ({ name: n, in: "query", required: n === "q", schema })),
          responses: { 200: { description: "hits", ...json({ type: "object", properties: { hits: { type: "array", items: SearchHitSchema }, next: { type: "string" } } }) }, ...errors },
        },
      },
      "/channels/{name}/members": {
        get: { summary: "Members and who is online", security: auth, parameters: [chParam], responses: { 200: { description: "members" }, ...errors } },
        post: { summary: "Join (user = yourself) or invite (another user)", security: auth, parameters: [chParam], requestBody: json(AddMemberBody), responses: { 200: { description: "info" }, ...errors } },
      },
      "/channels/{name}/members/{user}": { delete: { summary: "Leave (yourself) or kick (another member: moderators and the owner)", security: auth, parameters: [chParam, { name: "user", in: "path", required: true, schema: { type: "string" } }], responses: { 200: { description: "info" }, ...errors } } },
      "/users/me": {
        get: { summary: "Your channels, read markers, unread and mention counts", security: auth, responses: { 200: { description: "session" }, ...errors } },
        delete: { summary: "Erase your account: messages become tombstones, memberships, markers and session go (see docs/DATA_RIGHTS.md)", security: auth, responses: { 200: { description: "erasure report", ...json(ErasureReport) }, ...errors } },
      },
      "/users/{user}/dm": { post: { summary: "Open the direct conversation with a user", security: auth, parameters: [{ name: "user", in: "path", required: true, schema: { type: "string" } }], responses: { 200: { description: "{ channel }" }, ...errors } } },
      "/channels/{name}/retention": {
        get: { summary: "The retention policy in force and the retained range (first, last)", security: auth, parameters: [chParam], responses: { 200: { description: "retention", ...json(RetentionView) }, ...errors } },
        put: { summary: "Set the channel's own retention policy (owner or admin); trims at once", security: auth, parameters: [chParam], requestBody: json(RetentionBody), responses: { 200: { description: "retention", ...json(RetentionView) }, ...errors } },
        delete: { summary: "Back to the server's default policy (owner or admin)", security: auth, parameters: [chParam], responses: { 200: { description: "retention", ...json(RetentionView) }, ...errors } },
      },
      "/users/me/export": { get: { summary: "Everything Storm holds about you, as one streamed JSON document (see docs/DATA_RIGHTS.md)", security: auth, responses: { 200: { description: "{ user, exportedAt, session, memberships, messages, counts }" }, ...errors } } },
      "/admin/users/{user}/export": { get: { summary: "A user's export (admin)", security: auth, parameters: [userParam], responses: { 200: { description: "as /users/me/export" }, ...errors } } },
      "/admin/users/{user}": { delete: { summary: "Erase a user (admin)", security: auth, parameters: [userParam], responses: { 200: { description: "erasure report", ...json(ErasureReport) }, ...errors } } },
      "/server/publish": { post: { summary: "Publish as system, or `as` a user (exactly once per channel and clientId); scope publish. docs/SERVER_API.md", security: key, requestBody: json(ServerPublishBody), responses: { 201: { description: "{ channel, seq, duplicate: false }" }, 200: { description: "duplicate clientId: the first seq" }, ...errors } } },
      "/server/broadcast": { post: { summary: "Publish one message to up to 100 channels; scope broadcast", security: key, requestBody: json(ServerBroadcastBody), responses: { 200: { description: "{ results: [{ channel, seq, duplicate } | { channel, error }] }" }, ...errors } } },
      "/server/channels": { post: { summary: "Create a channel (owner defaults to system); scope admin", security: key, requestBody: json(ServerCreateChannelBody), responses: { 201: { description: "ChannelInfo" }, ...errors } } },
      "/server/channels/{name}/members": { post: { summary: "Add a member; scope admin", security: key, parameters: [chParam], requestBody: json(ServerMemberBody), responses: { 200: { description: "ChannelInfo" }, ...errors } } },
      "/server/channels/{name}/members/{user}": { delete: { summary: "Remove a member; scope admin", security: key, parameters: [chParam, userParam], responses: { 200: { description: "ChannelInfo" }, ...errors } } },
      "/server/channels/{name}/presence": { get: { summary: "Who is online; scope publish", security: key, parameters: [chParam], responses: { 200: { description: "{ channel, online, members }" }, ...errors } } },
      "/server/users/{user}/disconnect": { post: { summary: "Close the user's connections with 4003 disconnected; scope admin", security: key, parameters: [userParam], responses: { 200: { description: "{ user, connections }" }, ...errors } } },
      "/server/users/{user}/revoke": { post: { summary: "Refuse the user's tokens issued before `before` (default now) and close their connections with 4004 token_revoked; scope admin", security: key, parameters: [userParam], requestBody: json(RevokeBody), responses: { 200: { description: "{ user, before }" }, ...errors } } },
      "/server/webhooks": {
        post: { summary: "Register a webhook endpoint for events of existing channels; the secret is in this answer only; scope webhooks. docs/SERVER_API.md (delivery, signature, guarantees)", security: key, requestBody: json(WebhookCreateBody), responses: { 201: { description: "{ id, url, events, channels, maxBacklog, timeoutMs, createdAt, secret }" }, ...errors } },
        get: { summary: "List webhook endpoints (never their secrets); scope webhooks", security: key, responses: { 200: { description: "{ webhooks }" }, ...errors } },
      },
      "/server/webhooks/{id}": { delete: { summary: "Delete a webhook endpoint, its positions and dead letters; scope webhooks", security: key, parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }], responses: { 200: { description: "{ id, deleted: true }" }, ...errors } } },
      "/server/webhooks/{id}/dead": { get: { summary: "Dead letters of an endpoint (events skipped past its backlog bound, or trimmed before delivery), by id after `after`; scope webhooks", security: key, parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }, ...["after", "limit"].map((n) => ({ name: n, in: "query", schema: { type: "integer", minimum: 0 } }))], responses: { 200: { description: "{ deadLetters: [{ id, webhookId, channel, from, to, count, reason, lastError, at }] }" }, ...errors } } },
      "/admin/keys": {
        get: { summary: "List API keys (never the keys themselves); admin JWT", security: auth, responses: { 200: { description: "{ keys }" }, ...errors } },
        post: { summary: "Create an API key; the key is in this answer only; admin JWT", security: auth, requestBody: json(KeyCreateBody), responses: { 201: { description: "{ id, name, scopes, createdAt, revokedAt, key }" }, ...errors } },
      },
      "/admin/keys/{id}": { delete: { summary: "Revoke an API key; admin JWT", security: auth, parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }], responses: { 200: { description: "{ id, revoked }" }, ...errors } } },
      "/admin/audit": { get: { summary: "Audit records (admin), by id after `after`", security: auth, parameters: ["after", "limit"].map((n) => ({ name: n, in: "query", schema: { type: "integer", minimum: 0 } })), responses: { 200: { description: "{ records }" }, ...errors } } },
      "/sse": {
        get: {
          summary: "Server-Sent Events: the WebSocket server frames of the listed channels from their positions, then live; `id:` lines carry the position list, sent back as Last-Event-ID; see docs/PROTOCOL.md",
          security: streamAuth,
          parameters: [positions, { name: "Last-Event-ID", in: "header", required: false, schema: { type: "string" } }],
          responses: { 200: { description: "text/event-stream" }, ...errors },
        },
      },
      "/poll": {
        get: {
          summary: "Long-poll: answers when a listed channel has messages past its position, or after `wait` seconds",
          security: streamAuth,
          parameters: [positions, { name: "wait", in: "query", required: false, schema: { type: "integer", minimum: 0, maximum: 30, default: 25 } }],
          responses: { 200: { description: "{ frames: server frames, pos: position list }" }, ...errors },
        },
      },
      "/cmd": {
        post: {
          summary: "WebSocket client frames over HTTP (one, or an array of up to 256); answers the reply frames of those with an id",
          security: auth,
          requestBody: json({ oneOf: [clientFrame, { type: "array", maxItems: 256, items: clientFrame }] }),
          responses: { 200: { description: "array of reply frames (ack, ok, hist, info, members, pong, err)" }, ...errors },
        },
      },
      "/api/sync/poll": {
        get: {
          summary: "Seed 004: the caller's queue events and channel messages since `since` (the last cursor, or a ms timestamp)",
          security: auth,
          parameters: [{ name: "since", in: "query", required: false, schema: { type: "string" } }],
          responses: { 200: { description: "{ success, messages, timestamp, count, cursor, dropped, gaps }" }, ...errors },
        },
      },
      "/api/sync/send": { post: { summary: "Seed 004: add an event to the caller's queue (and their live connections)", security: auth, requestBody: json(SyncSendBody), responses: { 200: { description: "{ success, messageId, timestamp, correlationId? }" }, ...errors } } },
      "/api/sync/status": { get: { summary: "Seed 004: connections and subscriptions of this node, the caller's queue", security: auth, responses: { 200: { description: "{ success, status }" }, ...errors } } },
      "/api/sync/broadcast": { post: { summary: "Seed 004: an event to every member of `topics` (channels), or of every channel (admin only)", security: auth, requestBody: json(SyncBroadcastBody), responses: { 200: { description: "{ success, messageId, timestamp, recipients }" }, ...errors } } },
      "/ws": { get: { summary: "WebSocket upgrade (`?token=` or a first `auth` frame); see docs/PROTOCOL.md", responses: { 101: { description: "switching protocols" } } } },
      "/metrics": {
        get: {
          summary: "Prometheus text, aggregates only (no token): connections, channels, actors, memory by thread, and the journal's group commit (statements, appends, entries, statement wall-time histogram)",
          responses: { 200: { description: "text/plain; version=0.0.4" } },
        },
      },
    },
  };
}
