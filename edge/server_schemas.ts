import { Type } from "@sinclair/typebox";
import { Body, ChannelName, ClientId, NewChannelName, Topic, UserName, Visibility } from "./schemas.ts";
import { WEBHOOK_EVENT_TYPES } from "../storage/webhook_store.ts";

/** Schemas of the server API (backends, by API key) and of key management; validation and OpenAPI use them. */
/** Publish on behalf of this user (who must be a member); absent: as `system`, with no membership check. */
const As = Type.Optional(UserName);

export const ServerPublishBody = Type.Object({ channel: ChannelName, clientId: ClientId, body: Body, as: As }, { additionalProperties: false });
export const ServerBroadcastBody = Type.Object(
  { channels: Type.Array(ChannelName, { minItems: 1, maxItems: 100, uniqueItems: true }), clientId: ClientId, body: Body, as: As },
  { additionalProperties: false, description: "One message to many channels; `clientId` is the exactly-once key in each." },
);
export const ServerCreateChannelBody = Type.Object(
  { name: NewChannelName, visibility: Type.Optional(Visibility), topic: Type.Optional(Topic), owner: Type.Optional(UserName), members: Type.Optional(Type.Array(UserName, { maxItems: 1000 })) },
  { additionalProperties: false, description: "`owner` defaults to `system`." },
);
export const ServerMemberBody = Type.Object({ user: UserName }, { additionalProperties: false });
export const RevokeBody = Type.Object(
  { before: Type.Optional(Type.Integer({ minimum: 0, description: "Refuse tokens issued before this time (ms); default now." })) },
  { additionalProperties: false },
);
export const KeyCreateBody = Type.Object(
  {
    scopes: Type.Array(Type.Union([Type.Literal("publish"), Type.Literal("broadcast"), Type.Literal("webhooks"), Type.Literal("admin")]), { minItems: 1, maxItems: 4, uniqueItems: true }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: "^[^\\u0000]*$" })),
  },
  { additionalProperties: false },
);
export const WebhookCreateBody = Type.Object(
  {
    url: Type.String({ minLength: 8, maxLength: 2048, pattern: "^https?://[^\\s]+$", description: "Where events are POSTed (http or https)." }),
    events: Type.Array(Type.Union(WEBHOOK_EVENT_TYPES.map((t) => Type.Literal(t))), { minItems: 1, maxItems: WEBHOOK_EVENT_TYPES.length, uniqueItems: true }),
    channels: Type.Array(ChannelName, { minItems: 1, maxItems: 100, uniqueItems: true, description: "Existing channels whose events this endpoint gets." }),
    secret: Type.Optional(Type.String({ minLength: 16, maxLength: 128, pattern: "^[\\x21-\\x7e]+$", description: "The HMAC key; generated (whsec_...) when absent." })),
    maxBacklog: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: "Undelivered journal entries kept per channel (default 1000); past it the oldest become a dead letter." })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 30_000, description: "How long one delivery waits for an answer (default 5000)." })),
  },
  { additionalProperties: false },
);
export const DeadLetterQuery = Type.Object(
  { after: Type.Optional(Type.Integer({ minimum: 0 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) },
  { additionalProperties: false },
);
