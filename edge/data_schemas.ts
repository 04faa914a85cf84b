import { Type } from "@sinclair/typebox";

/**
 * Schemas of the data-rights routes (retention, export, erasure, audit): validation and the
 * OpenAPI document use these same objects.
 */
export const RetentionBody = Type.Object(
  {
    maxAgeMs: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: "Messages older than this are trimmed." })),
    maxCount: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: "At most this many messages are kept." })),
  },
  { additionalProperties: false, description: "A channel's own retention policy; `{}` keeps everything." },
);

export const RetentionView = Type.Object({
  channel: Type.String(),
  policy: RetentionBody,
  own: Type.Boolean({ description: "False when the server's default applies." }),
  first: Type.Integer({ description: "The first seq still held; older ones were trimmed." }),
  last: Type.Integer(),
});

export const ErasureReport = Type.Object({
  audit: Type.Integer({ description: "The id of the audit record." }),
  messages: Type.Integer({ description: "Messages turned into tombstones." }),
  channels: Type.Integer({ description: "Channels the user was erased from." }),
  memberships: Type.Integer(),
  directChannels: Type.Integer({ description: "Direct conversations deleted (their name holds the user's)." }),
});

export const AuditQuery = Type.Object({
  after: Type.Optional(Type.Integer({ minimum: 0 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
});
