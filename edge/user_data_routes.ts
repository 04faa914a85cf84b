import type { IncomingMessage } from "node:http";
import { RejectedError } from "../runtime/core/errors.ts";
import type { UserDataStore } from "../storage/user_data_store.ts";
import type { Principal } from "./auth.ts";
import { AuditQuery, RetentionBody } from "./data_schemas.ts";
import { type ActorGateway, channelActor } from "./gateway.ts";
import { type HttpApi, numericQuery, readJson } from "./http_api.ts";
import { ChannelName, UserName } from "./schemas.ts";
import type { UserEraser } from "./user_eraser.ts";
import { streamExport } from "./user_export.ts";
import { check } from "./validate.ts";

export interface UserDataRoutesOptions {
  actors: ActorGateway;
  store: UserDataStore;
  eraser: UserEraser;
  /** Journal entries per page of an export. */
  exportPageSize: number;
}

/**
 * The data-rights routes: a channel's retention policy, a user's export and erasure (their own,
 * or any user's for an admin), and the audit log (admins); routes of `api`'s table, so they pass
 * its checks (query parameters, methods, rate limits) as every other route does.
 */
export function userDataRoutes(api: HttpApi, o: UserDataRoutesOptions): void {
  const me = (req: IncomingMessage) => api.principal(req);
  const admin = async (req: IncomingMessage): Promise<Principal> => {
    const p = await me(req);
    if (p.role !== "admin") throw new RejectedError("forbidden", "This route needs an admin token");
    return p;
  };
  const user = (u: string | undefined) => check(UserName, u, "user name");
  const channel = (c: string | undefined) => channelActor(check(ChannelName, c, "channel name"));

  api.route("GET", "/channels/([^/]+)/retention", [], async ({ req, params: [ch] }) =>
    [200, await o.actors.ask(channel(ch), { type: "retention_get", user: (await me(req)).user })]);
  api.route("PUT", "/channels/([^/]+)/retention", [], async ({ req, params: [ch] }) => {
    const p = await me(req);
    const policy = check(RetentionBody, await readJson(req), "retention policy");
    return [200, await o.actors.ask(channel(ch), { type: "retention", user: p.user, admin: p.role === "admin", policy })];
  });
  api.route("DELETE", "/channels/([^/]+)/retention", [], async ({ req, params: [ch] }) => {
    const p = await me(req);
    return [200, await o.actors.ask(channel(ch), { type: "retention", user: p.user, admin: p.role === "admin", policy: null })];
  });
  api.route("GET", "/users/me/export", [], async ({ req, res }) => {
    await streamExport(res, o.actors, o.store, (await me(req)).user, { pageSize: o.exportPageSize });
    return undefined;
  });
  api.route("GET", "/admin/users/([^/]+)/export", [], async ({ req, res, params: [u] }) => {
    await admin(req);
    await streamExport(res, o.actors, o.store, user(u), { pageSize: o.exportPageSize });
    return undefined;
  });
  api.route("DELETE", "/users/me", [], async ({ req }) => [200, await o.eraser.erase((await me(req)).user, "self")]);
  api.route("DELETE", "/admin/users/([^/]+)", [], async ({ req, params: [u] }) => {
    const p = await admin(req);
    return [200, await o.eraser.erase(user(u), p.user)];
  });
  api.route("GET", "/admin/audit", ["after", "limit"], async ({ req, url }) => {
    await admin(req);
    const q = check(AuditQuery, numericQuery(url, ["after", "limit"]), "audit query");
    return [200, { records: await o.store.listAudit(q.after ?? 0, q.limit ?? 100) }];
  });
}
