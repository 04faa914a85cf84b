import type { IncomingMessage } from "node:http";
import { RejectedError } from "../runtime/core/errors.ts";
import type { UserDataStore } from "../storage/user_data_store.ts";
import type { Authenticator, Principal } from "./auth.ts";
import { AuditQuery, RetentionBody } from "./data_schemas.ts";
import { type ActorGateway, channelActor } from "./gateway.ts";
import { readJson } from "./http_api.ts";
import { bearerOf, RouteTable, sendJson } from "./route_table.ts";
import { ChannelName, UserName } from "./schemas.ts";
import type { UserEraser } from "./user_eraser.ts";
import { streamExport } from "./user_export.ts";
import { check } from "./validate.ts";

export interface UserDataRoutesOptions {
  actors: ActorGateway;
  auth: Authenticator;
  store: UserDataStore;
  eraser: UserEraser;
  /** Journal entries per page of an export. */
  exportPageSize: number;
}

/**
 * The data-rights routes: a channel's retention policy, a user's export and erasure (their own,
 * or any user's for an admin), and the audit log (admins).
 */
export function userDataRoutes(o: UserDataRoutesOptions): RouteTable {
  const t = new RouteTable();
  const me = (req: IncomingMessage) => o.auth.verify(bearerOf(req));
  const admin = async (req: IncomingMessage): Promise<Principal> => {
    const p = await me(req);
    if (p.role !== "admin") throw new RejectedError("forbidden", "This route needs an admin token");
    return p;
  };
  const user = (u: string | undefined) => check(UserName, u, "user name");
  const channel = (c: string | undefined) => channelActor(check(ChannelName, c, "channel name"));

  t.add("GET", "/channels/([^/]+)/retention", async (req, res, [ch]) => {
    sendJson(res, 200, await o.actors.ask(channel(ch), { type: "retention_get", user: (await me(req)).user }));
  });
  t.add("PUT", "/channels/([^/]+)/retention", async (req, res, [ch]) => {
    const p = await me(req);
    const policy = check(RetentionBody, await readJson(req), "retention policy");
    sendJson(res, 200, await o.actors.ask(channel(ch), { type: "retention", user: p.user, admin: p.role === "admin", policy }));
  });
  t.add("DELETE", "/channels/([^/]+)/retention", async (req, res, [ch]) => {
    const p = await me(req);
    sendJson(res, 200, await o.actors.ask(channel(ch), { type: "retention", user: p.user, admin: p.role === "admin", policy: null }));
  });
  t.add("GET", "/users/me/export", async (req, res) => {
    await streamExport(res, o.actors, o.store, (await me(req)).user, { pageSize: o.exportPageSize });
  });
  t.add("GET", "/admin/users/([^/]+)/export", async (req, res, [u]) => {
    await admin(req);
    await streamExport(res, o.actors, o.store, user(u), { pageSize: o.exportPageSize });
  });
  t.add("DELETE", "/users/me", async (req, res) => {
    sendJson(res, 200, await o.eraser.erase((await me(req)).user, "self"));
  });
  t.add("DELETE", "/admin/users/([^/]+)", async (req, res, [u]) => {
    const p = await admin(req);
    sendJson(res, 200, await o.eraser.erase(user(u), p.user));
  });
  t.add("GET", "/admin/audit", async (req, res, _p, url) => {
    await admin(req);
    const num = (k: string) => (url.searchParams.has(k) ? (/^\d+$/.test(url.searchParams.get(k)!) ? Number(url.searchParams.get(k)) : NaN) : undefined);
    const q = check(AuditQuery, JSON.parse(JSON.stringify({ after: num("after"), limit: num("limit") })), "audit query");
    sendJson(res, 200, { records: await o.store.listAudit(q.after ?? 0, q.limit ?? 100) });
  });
  return t;
}
