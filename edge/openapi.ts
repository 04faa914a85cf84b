import { ERROR_CODES } from "../runtime/core/error_codes.ts";
import {
  AddMemberBody, ChannelName, ChannelPatchBody, CreateChannelBody, DevTokenBody, EditBody, ErrorSchema, MessageSchema, MessageSeq, MuteBody, PublishBody, ReactBody,
  RoleBody, SearchHitSchema, SearchQuery, UserName,
} from "./schemas.ts";

const json = (schema: unknown) => ({ content: { "application/json": { schema } } });
const errors = {
  default: { description: `Typed error; codes: ${Object.keys(ERROR_CODES).join(", ")}`, ...json(ErrorSchema) },
};
const auth = [{ bearer: [] }];
const chParam = { name: "name", in: "path", required: true, schema: ChannelName };
const seqParam = { name: "seq", in: "path", required: true, schema: MessageSeq };
const userParam = { name: "user", in: "path", required: true, schema: UserName };
const ackReplies = { 201: { description: "committed: { seq, duplicate: false }" }, 200: { description: "clientId already used: its seq, duplicate: true" }, ...errors };
const infoReply = { 200: { description: "ChannelInfo" }, ...errors };

/** The OpenAPI 3.1 document, generated from the very schemas that validate requests. */
export function buildOpenApi(): unknown {
  return {
    openapi: "3.1.0",
    info: { title: "Storm REST API", version: "0.1.0", description: "See docs/PROTOCOL.md for the WebSocket protocol." },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } }, schemas: { Message: MessageSchema, Error: ErrorSchema } },
    paths: {
      "/auth/dev-token": { post: { summary: "Development token for a nickname (only without a production secret)", requestBody: json(DevTokenBody), responses: { 200: { description: "token" }, ...errors } } },
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
      "/users/me": { get: { summary: "Your channels, read markers, unread and mention counts", security: auth, responses: { 200: { description: "session" }, ...errors } } },
      "/users/{user}/dm": { post: { summary: "Open the direct conversation with a user", security: auth, parameters: [{ name: "user", in: "path", required: true, schema: { type: "string" } }], responses: { 200: { description: "{ channel }" }, ...errors } } },
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
