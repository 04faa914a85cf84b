import type { IncomingMessage } from "node:http";
import type { ChannelInfo, PublishAck, SessionView } from "../actors/messages.ts";
import { RejectedError } from "../runtime/core/errors.ts";
import type { ApiKeyStore } from "../storage/api_key_store.ts";
import { type ApiKeyAuth, newApiKey } from "./api_keys.ts";
import type { Authenticator } from "./auth.ts";
import { errorFields } from "./frames.ts";
import { type ActorGateway, channelActor, sessionActor } from "./gateway.ts";
import { readJson } from "./http_api.ts";
import { bearerOf, RouteTable, sendJson } from "./route_table.ts";
import { ChannelName, UserName } from "./schemas.ts";
import { KeyCreateBody, RevokeBody, ServerBroadcastBody, ServerCreateChannelBody, ServerMemberBody, ServerPublishBody } from "./server_schemas.ts";
import type { TokenRevocations } from "./token_revocations.ts";
import { check } from "./validate.ts";

/** The sender of messages a backend publishes without `as` (docs/SERVER_API.md). */
export const SYSTEM_USER = "system";

export interface ServerApiOptions {
  actors: ActorGateway;
  /** Admin JWTs for key management (`/admin/keys`). */
  auth: Authenticator;
  keys: ApiKeyAuth;
  store: ApiKeyStore;
  revocations: TokenRevocations;
}

/**
 * The server API: what a backend does with an API key (publish, broadcast, channels and members,
 * presence, disconnect, token revocation), and the admin routes that manage the keys.
 * Exactly-once holds as for clients (G3): a retried publish with the same `clientId` gets its first seq.
 */
export function serverApiRoutes(o: ServerApiOptions): RouteTable {
  const t = new RouteTable();
  const a = o.actors;
  const channel = (c: string | undefined) => check(ChannelName, c, "channel name");
  const user = (u: string | undefined) => check(UserName, u, "user name");
  const publish = (ch: string, b: { clientId: string; body: string; as?: string }) =>
    a.ask<PublishAck>(channelActor(ch), b.as === undefined
      ? { type: "publish", user: SYSTEM_USER, clientId: b.clientId, body: b.body, system: true }
      : { type: "publish", user: b.as, clientId: b.clientId, body: b.body });

  t.add("POST", "/server/publish", async (req, res) => {
    await o.keys.require(req, "publish");
    const b = check(ServerPublishBody, await readJson(req), "publish");
    const ack = await publish(b.channel, b);
    sendJson(res, ack.duplicate ? 200 : 201, { channel: b.channel, ...ack });
  });
  t.add("POST", "/server/broadcast", async (req, res) => {
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
    sendJson(res, 200, { results });
  });
  t.add("POST", "/server/channels", async (req, res) => {
    await o.keys.require(req, "admin");
    const b = check(ServerCreateChannelBody, await readJson(req), "channel");
    const info = await a.ask<ChannelInfo>(channelActor(b.name), {
      type: "create", user: b.owner ?? SYSTEM_USER, visibility: b.visibility ?? "public", topic: b.topic ?? "", members: b.members,
    });
    sendJson(res, 201, info);
  });
  t.add("POST", "/server/channels/([^/]+)/members", async (req, res, [ch]) => {
    await o.keys.require(req, "admin");
    const b = check(ServerMemberBody, await readJson(req), "member");
    sendJson(res, 200, await a.ask(channelActor(channel(ch)), { type: "admin_member", member: b.user, add: true }));
  });
  t.add("DELETE", "/server/channels/([^/]+)/members/([^/]+)", async (req, res, [ch, u]) => {
    await o.keys.require(req, "admin");
    sendJson(res, 200, await a.ask(channelActor(channel(ch)), { type: "admin_member", member: user(u), add: false }));
  });
  t.add("GET", "/server/channels/([^/]+)/presence", async (req, res, [ch]) => {
    await o.keys.require(req, "publish");
    sendJson(res, 200, await a.ask(channelActor(channel(ch)), { type: "presence_get" }));
  });
  t.add("POST", "/server/users/([^/]+)/disconnect", async (req, res, [u]) => {
    await o.keys.require(req, "admin");
    const name = user(u);
    const view = await a.ask<SessionView>(sessionActor(name), { type: "get" });
    await a.ask(sessionActor(name), { type: "close", code: "disconnected" });
    sendJson(res, 200, { user: name, connections: view.connections });
  });
  t.add("POST", "/server/users/([^/]+)/revoke", async (req, res, [u]) => {
    await o.keys.require(req, "admin");
    const name = user(u);
    const b = check(RevokeBody, await readJson(req) ?? {}, "revocation");
    const before = await o.revocations.revoke(name, b.before ?? Date.now());
    await a.ask(sessionActor(name), { type: "close", code: "token_revoked" });
    sendJson(res, 200, { user: name, before });
  });

  const admin = async (req: IncomingMessage) => {
    if ((await o.auth.verify(bearerOf(req))).role !== "admin") throw new RejectedError("forbidden", "Key management needs an admin token");
  };
  t.add("POST", "/admin/keys", async (req, res) => {
    await admin(req);
    const b = check(KeyCreateBody, await readJson(req), "key");
    const k = newApiKey();
    const rec = await o.store.createKey({ id: k.id, name: b.name ?? "", scopes: b.scopes, hash: k.hash });
    sendJson(res, 201, { ...rec, key: k.key });
  });
  t.add("GET", "/admin/keys", async (req, res) => {
    await admin(req);
    sendJson(res, 200, { keys: await o.store.listKeys() });
  });
  t.add("DELETE", "/admin/keys/([^/]+)", async (req, res, [id]) => {
    await admin(req);
    if (!(await o.store.revokeKey(String(id)))) throw new RejectedError("not_found", `No live API key "${String(id).slice(0, 40)}"`);
    o.keys.forget();
    sendJson(res, 200, { id, revoked: true });
  });
  return t;
}
