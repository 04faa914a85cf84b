import type { IncomingMessage } from "node:http";
import type { ChannelInfo, PublishAck, SessionView } from "../actors/messages.ts";
import { RejectedError } from "../runtime/core/errors.ts";
import type { ApiKeyStore } from "../storage/api_key_store.ts";
import { type ApiKeyAuth, newApiKey } from "./api_keys.ts";
import { errorFields } from "./frames.ts";
import { type ActorGateway, channelActor, sessionActor } from "./gateway.ts";
import { type HttpApi, readJson } from "./http_api.ts";
import { ChannelName, UserName } from "./schemas.ts";
import { KeyCreateBody, RevokeBody, ServerBroadcastBody, ServerCreateChannelBody, ServerMemberBody, ServerPublishBody } from "./server_schemas.ts";
import type { TokenRevocations } from "./token_revocations.ts";
import { check } from "./validate.ts";

/** The sender of messages a backend publishes without `as` (docs/SERVER_API.md). */
export const SYSTEM_USER = "system";

export interface ServerApiOptions {
  actors: ActorGateway;
  keys: ApiKeyAuth;
  store: ApiKeyStore;
  revocations: TokenRevocations;
}

/**
 * The server API: what a backend does with an API key (publish, broadcast, channels and members,
 * presence, disconnect, token revocation), and the admin routes that manage the keys.
 * Exactly-once holds as for clients (G3): a retried publish with the same `clientId` gets its first seq.
 */
export function serverApiRoutes(api: HttpApi, o: ServerApiOptions): void {
  const a = o.actors;
  const channel = (c: string | undefined) => check(ChannelName, c, "channel name");
  const user = (u: string | undefined) => check(UserName, u, "user name");
  const publish = (ch: string, b: { clientId: string; body: string; as?: string }) =>
    a.ask<PublishAck>(channelActor(ch), b.as === undefined
      ? { type: "publish", user: SYSTEM_USER, clientId: b.clientId, body: b.body, system: true }
      : { type: "publish", user: b.as, clientId: b.clientId, body: b.body });

  api.route("POST", "/server/publish", [], async ({ req }) => {
    await o.keys.require(req, "publish");
    const b = check(ServerPublishBody, await readJson(req), "publish");
    const ack = await publish(b.channel, b);
    return [ack.duplicate ? 200 : 201, { channel: b.channel, ...ack }];
  });
  api.route("POST", "/server/broadcast", [], async ({ req }) => {
    await o.keys.require(req, "broadcast");
    const b = check(ServerBroadcastBody, await readJson(req), "broadcast");
    // Each channel on its own: one failing (missing, not a member) does not stop the others.
    const results = await Promise.all(b.channels.map(async (ch) => {
      try {
        return { channel: ch, ...(await publish(ch, b)) };
      } catch (err) {
        return { channel: ch, error: errorFields(err) };
      }
    }));
    return [200, { results }];
  });
  api.route("POST", "/server/channels", [], async ({ req }) => {
    await o.keys.require(req, "admin");
    const b = check(ServerCreateChannelBody, await readJson(req), "channel");
    const info = await a.ask<ChannelInfo>(channelActor(b.name), {
      type: "create", user: b.owner ?? SYSTEM_USER, visibility: b.visibility ?? "public", topic: b.topic ?? "", members: b.members,
    });
    return [201, info];
  });
  api.route("POST", "/server/channels/([^/]+)/members", [], async ({ req, params: [ch] }) => {
    await o.keys.require(req, "admin");
    const b = check(ServerMemberBody, await readJson(req), "member");
    return [200, await a.ask(channelActor(channel(ch)), { type: "admin_member", member: b.user, add: true })];
  });
  api.route("DELETE", "/server/channels/([^/]+)/members/([^/]+)", [], async ({ req, params: [ch, u] }) => {
    await o.keys.require(req, "admin");
    return [200, await a.ask(channelActor(channel(ch)), { type: "admin_member", member: user(u), add: false })];
  });
  api.route("GET", "/server/channels/([^/]+)/presence", [], async ({ req, params: [ch] }) => {
    await o.keys.require(req, "publish");
    return [200, await a.ask(channelActor(channel(ch)), { type: "presence_get" })];
  });
  api.route("POST", "/server/users/([^/]+)/disconnect", [], async ({ req, params: [u] }) => {
    await o.keys.require(req, "admin");
    const name = user(u);
    const view = await a.ask<SessionView>(sessionActor(name), { type: "get" });
    await a.ask(sessionActor(name), { type: "close", code: "disconnected" });
    return [200, { user: name, connections: view.connections }];
  });
  api.route("POST", "/server/users/([^/]+)/revoke", [], async ({ req, params: [u] }) => {
    await o.keys.require(req, "admin");
    const name = user(u);
    const b = check(RevokeBody, await readJson(req) ?? {}, "revocation");
    const before = await o.revocations.revoke(name, b.before ?? Date.now());
    await a.ask(sessionActor(name), { type: "close", code: "token_revoked" });
    return [200, { user: name, before }];
  });

  const admin = async (req: IncomingMessage) => {
    if ((await api.principal(req)).role !== "admin") throw new RejectedError("forbidden", "Key management needs an admin token");
  };
  api.route("POST", "/admin/keys", [], async ({ req }) => {
    await admin(req);
    const b = check(KeyCreateBody, await readJson(req), "key");
    const k = newApiKey();
    const rec = await o.store.createKey({ id: k.id, name: b.name ?? "", scopes: b.scopes, hash: k.hash });
    return [201, { ...rec, key: k.key }];
  });
  api.route("GET", "/admin/keys", [], async ({ req }) => {
    await admin(req);
    return [200, { keys: await o.store.listKeys() }];
  });
  api.route("DELETE", "/admin/keys/([^/]+)", [], async ({ req, params: [id] }) => {
    await admin(req);
    if (!(await o.store.revokeKey(String(id)))) throw new RejectedError("not_found", `No live API key "${String(id).slice(0, 40)}"`);
    o.keys.forget();
    return [200, { id, revoked: true }];
  });
}
