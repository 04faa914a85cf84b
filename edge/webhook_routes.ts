import { randomBytes } from "node:crypto";
import { RejectedError } from "../runtime/core/errors.ts";
import type { WebhookRecord, WebhookStore } from "../storage/webhook_store.ts";
import type { ApiKeyAuth } from "./api_keys.ts";
import { type ActorGateway, channelActor } from "./gateway.ts";
import { type HttpApi, numericQuery, readJson } from "./http_api.ts";
import { DeadLetterQuery, WebhookCreateBody } from "./server_schemas.ts";
import { check } from "./validate.ts";

export interface WebhookRoutesOptions {
  actors: ActorGateway;
  keys: ApiKeyAuth;
  store: WebhookStore;
}

/** Endpoints per node store: each costs every node a look per poll. */
const MAX_WEBHOOKS = 100;

/**
 * The server API's webhook routes (API key with the `webhooks` or `admin` scope): register an
 * endpoint, list, delete, and list its dead letters. Delivery is `WebhookDeliverer`'s. A
 * registration names existing channels; each is told whether some endpoint wants its presence
 * changes, which it then saves as events (membership changes it always saves).
 */
export function webhookRoutes(api: HttpApi, o: WebhookRoutesOptions): void {
  const view = ({ secret: _secret, ...w }: WebhookRecord) => w;

  /** Tells each channel whether an endpoint still wants its presence; unknown channels are `channel_not_found`. */
  const tellChannels = async (channels: readonly string[], hooks: readonly WebhookRecord[]) => {
    for (const ch of channels) {
      const presence = hooks.some((h) => h.channels.includes(ch) && h.events.includes("presence"));
      await o.actors.ask(channelActor(ch), { type: "hooks", presence });
    }
  };

  api.route("POST", "/server/webhooks", [], async ({ req }) => {
    await o.keys.require(req, "webhooks");
    const b = check(WebhookCreateBody, await readJson(req), "webhook");
    const existing = await o.store.listWebhooks();
    if (existing.length >= MAX_WEBHOOKS) throw new RejectedError("too_large", `Cannot register more than ${MAX_WEBHOOKS} webhooks`);
    const input = {
      id: `wh_${randomBytes(6).toString("hex")}`, url: b.url, secret: b.secret ?? `whsec_${randomBytes(32).toString("base64url")}`,
      events: b.events, channels: b.channels, maxBacklog: b.maxBacklog ?? 1_000, timeoutMs: b.timeoutMs ?? 5_000,
    };
    await tellChannels(b.channels, [...existing, { ...input, createdAt: 0 }]);
    const rec = await o.store.createWebhook(input);
    return [201, { ...view(rec), secret: rec.secret }];
  });
  api.route("GET", "/server/webhooks", [], async ({ req }) => {
    await o.keys.require(req, "webhooks");
    return [200, { webhooks: (await o.store.listWebhooks()).map(view) }];
  });
  api.route("DELETE", "/server/webhooks/([^/]+)", [], async ({ req, params: [id] }) => {
    await o.keys.require(req, "webhooks");
    const hooks = await o.store.listWebhooks();
    const gone = hooks.find((h) => h.id === id);
    if (!gone || !(await o.store.deleteWebhook(gone.id))) throw new RejectedError("not_found", `No webhook "${String(id).slice(0, 40)}"`);
    // A channel erased since has nothing to be told; the endpoint is gone either way.
    await tellChannels(gone.channels, hooks.filter((h) => h.id !== gone.id)).catch(() => undefined);
    return [200, { id: gone.id, deleted: true }];
  });
  api.route("GET", "/server/webhooks/([^/]+)/dead", ["after", "limit"], async ({ req, params: [id], url }) => {
    await o.keys.require(req, "webhooks");
    const q = check(DeadLetterQuery, numericQuery(url, ["after", "limit"]), "dead letter query");
    if (!(await o.store.listWebhooks()).some((h) => h.id === id)) throw new RejectedError("not_found", `No webhook "${String(id).slice(0, 40)}"`);
    return [200, { deadLetters: await o.store.listDeadLetters(String(id), q.after ?? 0, q.limit ?? 100) }];
  });
}
