import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../lib/logger.ts";
import type { ChannelInfo, HistoryReply, PublishAck, SessionView } from "../actors/messages.ts";
import { ERROR_CODES } from "../runtime/core/error_codes.ts";
import { RejectedError, StormError } from "../runtime/core/errors.ts";
import type { AdminApi } from "./admin_api.ts";
import type { Authenticator, Principal } from "./auth.ts";
import type { EdgeMetrics } from "./edge_metrics.ts";
import { errorFields, toWireMessage } from "./frames.ts";
import { openDm } from "./frame_handler.ts";
import { type ActorGateway, channelActor, sessionActor } from "./gateway.ts";
import { AddMemberBody, ChannelListQuery, ChannelName, DrainBody, MigrateBody, CreateChannelBody, DevTokenBody, HistoryQuery, LIMITS, PublishBody, UserName } from "./schemas.ts";
import { check } from "./validate.ts";

/** Lists channels for `GET /channels` (read from storage: metadata, not the message path). */
export interface ChannelDirectory {
  list(afterName: string, limit: number): Promise<Array<{ name: string; visibility: string; topic: string; members: string[] }>>;
}

export interface HttpApiOptions {
  actors: ActorGateway;
  auth: Authenticator;
  directory: ChannelDirectory;
  /** When true, `POST /auth/dev-token` hands out tokens for any nickname (embedded defaults only). */
  devTokens: boolean;
  openapi: () => unknown;
  /** Node status: connections, channels, and which worker hosts which actor. */
  status: () => Promise<unknown>;
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** Cluster operator actions (cluster mode only). */
  admin?: AdminApi;
  /** Counts requests by route and status, errors by code, acknowledged publishes. */
  counters: EdgeMetrics;
  /** Each request is logged at `debug`, a 5xx at `error`, with its request id. */
  log: Logger;
}

/** An `x-request-id` sent by a client or proxy is kept when it looks like an id; else one is made. */
const REQUEST_ID = /^[\w.:-]{1,128}$/;

type Handler = (req: IncomingMessage, params: string[], url: URL) => Promise<[number, unknown]>;

/**
 * The REST surface. Every body and query is validated against the schemas in `schemas.ts`; every
 * failure is a JSON `{ error: { code, message, retry } }` with the status of its code.
 */
export class HttpApi {
  /** Method, path pattern, its label in `storm_http_requests_total` (`/channels/{}/messages`), handler. */
  readonly #routes: Array<[string, RegExp, string, Handler]> = [];
  readonly #o: HttpApiOptions;

  constructor(o: HttpApiOptions) {
    this.#o = o;
    const a = o.actors;
    const route = (method: string, path: string, h: Handler) =>
      this.#routes.push([method, new RegExp(`^${path}$`), path.replaceAll("([^/]+)", "{}"), h]);
    route("GET", "/healthz", async () => [200, { ok: true }]);
    route("GET", "/openapi.json", async () => [200, o.openapi()]);
    route("GET", "/status", async (req) => {
      // Lists every actor id, private and direct channels included: operators only (G8).
      if ((await this.#me(req)).role !== "admin") throw new RejectedError("forbidden", "GET /status needs an admin token");
      return [200, await o.status()];
    });
    const admin = async (req: IncomingMessage): Promise<AdminApi> => {
      if ((await this.#me(req)).role !== "admin") throw new RejectedError("forbidden", "Operator routes need an admin token");
      if (!o.admin) throw new RejectedError("not_found", "This node is not in cluster mode");
      return o.admin;
    };
    route("GET", "/admin/nodes", async (req) => [200, { nodes: (await admin(req)).nodes() }]);
    route("GET", "/admin/placements", async (req, _p, url) => [200, { placements: await (await admin(req)).placements(url.searchParams.get("prefix") ?? "") }]);
    route("POST", "/admin/migrate", async (req) => {
      const a = await admin(req);
      const b = check(MigrateBody, await readJson(req), "migration");
      return [200, await a.migrate(b.actor, b.to)];
    });
    route("POST", "/admin/drain", async (req) => {
      const a = await admin(req);
      const b = check(DrainBody, await readJson(req), "drain");
      return [200, await a.drain(b.node)];
    });
    route("POST", "/auth/dev-token", async (req) => {
      if (!o.devTokens) throw new RejectedError("not_found", "Development tokens are disabled: a production secret is configured");
      const body = check(DevTokenBody, await readJson(req), "dev-token request");
      return [200, { token: await o.auth.issue({ user: body.user, role: body.role ?? "user" }) }];
    });
    route("GET", "/users/me", async (req) => [200, await a.ask<SessionView>(sessionActor((await this.#me(req)).user), { type: "get" })]);
    route("POST", "/users/([^/]+)/dm", async (req, [other]) => {
      const me = await this.#me(req);
      return [200, { channel: await openDm(a, me.user, check(UserName, other, "user name")) }];
    });
    route("GET", "/channels", async (req, _p, url) => {
      const me = await this.#me(req);
      const q = check(ChannelListQuery, { ...numericQuery(url, ["limit"]), ...(url.searchParams.has("after") ? { after: url.searchParams.get("after") } : {}) }, "channel list query");
      const limit = q.limit ?? 100;
      const list = await o.directory.list(q.after ?? "", limit);
      const visible = list.filter((c) => c.visibility === "public" || c.members.includes(me.user));
      // Paging runs over all channels, so a page may hold fewer than `limit`: `next` says where to go on.
      const next = list.length === limit ? list[list.length - 1]!.name : undefined;
      return [200, { channels: visible.map(({ members, ...c }) => ({ ...c, members: members.length })), next }];
    });
    route("POST", "/channels", async (req) => {
      const me = await this.#me(req);
      const b = check(CreateChannelBody, await readJson(req), "channel");
      return [201, await a.ask<ChannelInfo>(channelActor(b.name), { type: "create", user: me.user, visibility: b.visibility ?? "public", topic: b.topic ?? "", members: b.members })];
    });
    route("GET", "/channels/([^/]+)", async (req, [ch]) => [200, await a.ask(channelActor(name(ch)), { type: "info", user: (await this.#me(req)).user })]);
    route("GET", "/channels/([^/]+)/messages", async (req, [ch], url) => {
      const me = await this.#me(req);
      const q = check(HistoryQuery, numericQuery(url, ["after", "before", "limit"]), "history query");
      const page = await a.ask<HistoryReply>(channelActor(name(ch)), { type: "history", user: me.user, after: q.after, before: q.before, limit: q.limit ?? 100 });
      return [200, { messages: page.msgs.map(toWireMessage), last: page.last, more: page.more, truncated: page.truncated }];
    });
    route("POST", "/channels/([^/]+)/messages", async (req, [ch]) => {
      const me = await this.#me(req);
      const b = check(PublishBody, await readJson(req), "message");
      const ack = await a.ask<PublishAck>(channelActor(name(ch)), { type: "publish", user: me.user, clientId: b.clientId, body: b.body });
      o.counters.publishes.value++;
      return [ack.duplicate ? 200 : 201, ack];
    });
    route("GET", "/channels/([^/]+)/members", async (req, [ch]) => [200, await a.ask(channelActor(name(ch)), { type: "members", user: (await this.#me(req)).user })]);
    route("POST", "/channels/([^/]+)/members", async (req, [ch]) => {
      const me = await this.#me(req);
      const b = check(AddMemberBody, await readJson(req), "member");
      const msg = b.user === me.user ? { type: "join", user: me.user } : { type: "invite", user: me.user, member: b.user };
      return [200, await a.ask(channelActor(name(ch)), msg)];
    });
    route("DELETE", "/channels/([^/]+)/members/([^/]+)", async (req, [ch, user]) => {
      const me = await this.#me(req);
      if (user !== me.user) throw new RejectedError("forbidden", "Only a member can remove themself");
      return [200, await a.ask(channelActor(name(ch)), { type: "leave", user: me.user })];
    });
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://edge");
    const given = req.headers["x-request-id"];
    const requestId = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader("x-request-id", requestId);
    let status = 500;
    let body: unknown;
    let route = "unmatched";
    let failure: unknown;
    try {
      if (url.pathname === "/metrics" && this.#o.metrics) {
        route = "/metrics";
        const m = await this.#o.metrics();
        this.#answered(route, 200, req, requestId);
        res.writeHead(200, { "content-type": m.contentType }).end(m.body);
        return;
      }
      const match = this.#match(req.method ?? "GET", url.pathname);
      route = match.route;
      [status, body] = await match.handler(req, match.params, url);
    } catch (err) {
      const e = errorFields(err);
      this.#o.counters.error(err);
      status = ERROR_CODES[e.code].http;
      body = { error: e };
      failure = err;
    }
    this.#answered(route, status, req, requestId, failure);
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  }

  #answered(route: string, status: number, req: IncomingMessage, requestId: string, err?: unknown): void {
    this.#o.counters.http.inc([route, String(status)]);
    const level = status >= 500 ? "error" : "debug";
    if (this.#o.log.enabled(level)) this.#o.log.log(level, "http request", { requestId, method: req.method, route, status, err });
  }

  #match(method: string, path: string): { handler: Handler; params: string[]; route: string } {
    let pathMatched = false;
    for (const [m, re, route, handler] of this.#routes) {
      const hit = re.exec(path);
      if (!hit) continue;
      pathMatched = true;
      if (m === method) return { handler, params: hit.slice(1).map(decodePathPart), route };
    }
    throw new RejectedError(pathMatched ? "bad_request" : "not_found", pathMatched ? `Method ${method} not allowed on ${path}` : `No route for ${method} ${path}`);
  }

  async #me(req: IncomingMessage): Promise<Principal> {
    const h = req.headers.authorization;
    return this.#o.auth.verify(h?.startsWith("Bearer ") ? h.slice(7) : undefined);
  }
}

function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new RejectedError("bad_request", `Cannot parse path segment "${part.slice(0, 40)}": bad percent-encoding`);
  }
}

function name(ch: string | undefined): string {
  return check(ChannelName, ch, "channel name");
}

function numericQuery(url: URL, keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) {
    const v = url.searchParams.get(k);
    if (v !== null) out[k] = /^\d+$/.test(v) ? Number(v) : NaN;
  }
  return out;
}

/** Reads a JSON body, refusing more than `LIMITS.maxFrameBytes` before buffering it all. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > LIMITS.maxFrameBytes) throw new StormError("too_large", `Cannot accept body: over ${LIMITS.maxFrameBytes} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8") || "null");
  } catch (err) {
    throw new StormError("bad_request", `Cannot parse body: ${(err as Error).message}`, { cause: err });
  }
}
