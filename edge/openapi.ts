import { ERROR_CODES } from "../runtime/core/error_codes.ts";
import { AddMemberBody, ChannelName, CreateChannelBody, DevTokenBody, ErrorSchema, MessageSchema, PublishBody, UserName } from "./schemas.ts";
import { ErasureReport, RetentionBody, RetentionView } from "./data_schemas.ts";
import { KeyCreateBody, RevokeBody, ServerBroadcastBody, ServerCreateChannelBody, ServerMemberBody, ServerPublishBody } from "./server_schemas.ts";

const json = (schema: unknown) => ({ content: { "application/json": { schema } } });
const errors = {
  default: { description: `Typed error; codes: ${Object.keys(ERROR_CODES).join(", ")}`, ...json(ErrorSchema) },
};
const auth = [{ bearer: [] }];
const key = [{ apiKey: [] }, { apiKeyBearer: [] }];
const chParam = { name: "name", in: "path", required: true, schema: ChannelName };
const userParam = { name: "user", in: "path", required: true, schema: UserName };

/** The OpenAPI 3.1 document, generated from the very schemas that validate requests. */
export function buildOpenApi(): unknown {
  return {
    openapi: "3.1.0",
    info: { title: "Storm REST API", version: "0.1.0", description: "See docs/PROTOCOL.md for the WebSocket protocol." },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" }, apiKey: { type: "apiKey", in: "header", name: "X-Api-Key" }, apiKeyBearer: { type: "http", scheme: "bearer", bearerFormat: "sk_ API key" } }, schemas: { Message: MessageSchema, Error: ErrorSchema } },
    paths: {
      "/auth/dev-token": { post: { summary: "Development token for a nickname (only without a production secret)", requestBody: json(DevTokenBody), responses: { 200: { description: "token" }, ...errors } } },
      "/channels": {
        get: { summary: "List public channels", security: auth, responses: { 200: { description: "channels" }, ...errors } },
        post: { summary: "Create a channel (the caller becomes its owner)", security: auth, requestBody: json(CreateChannelBody), responses: { 201: { description: "created" }, ...errors } },
      },
      "/channels/{name}": { get: { summary: "Channel info", security: auth, parameters: [chParam], responses: { 200: { description: "info" }, ...errors } } },
      "/channels/{name}/messages": {
        get: {
          summary: "History page: `after` pages forward, `before` (or nothing) pages back from the newest",
          security: auth,
          parameters: [chParam, ...["after", "before", "limit"].map((n) => ({ name: n, in: "query", schema: { type: "integer", minimum: 0 } }))],
          responses: { 200: { description: "messages", ...json({ type: "object", properties: { messages: { type: "array", items: MessageSchema } } }) }, ...errors },
        },
        post: { summary: "Publish (exactly once per clientId); acknowledged after commit", security: auth, parameters: [chParam], requestBody: json(PublishBody), responses: { 201: { description: "committed: { seq }" }, 200: { description: "duplicate clientId: the original seq" }, ...errors } },
      },
      "/channels/{name}/members": {
        get: { summary: "Members and who is online", security: auth, parameters: [chParam], responses: { 200: { description: "members" }, ...errors } },
        post: { summary: "Join (user = yourself) or invite (another user)", security: auth, parameters: [chParam], requestBody: json(AddMemberBody), responses: { 200: { description: "info" }, ...errors } },
      },
      "/channels/{name}/members/{user}": { delete: { summary: "Leave", security: auth, parameters: [chParam, { name: "user", in: "path", required: true, schema: { type: "string" } }], responses: { 200: { description: "info" }, ...errors } } },
      "/users/me": {
        get: { summary: "Your channels and read markers", security: auth, responses: { 200: { description: "session" }, ...errors } },
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
      "/admin/keys": {
        get: { summary: "List API keys (never the keys themselves); admin JWT", security: auth, responses: { 200: { description: "{ keys }" }, ...errors } },
        post: { summary: "Create an API key; the key is in this answer only; admin JWT", security: auth, requestBody: json(KeyCreateBody), responses: { 201: { description: "{ id, name, scopes, createdAt, revokedAt, key }" }, ...errors } },
      },
      "/admin/keys/{id}": { delete: { summary: "Revoke an API key; admin JWT", security: auth, parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }], responses: { 200: { description: "{ id, revoked }" }, ...errors } } },
      "/admin/audit": { get: { summary: "Audit records (admin), by id after `after`", security: auth, parameters: ["after", "limit"].map((n) => ({ name: n, in: "query", schema: { type: "integer", minimum: 0 } })), responses: { 200: { description: "{ records }" }, ...errors } } },
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
