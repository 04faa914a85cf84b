import { Buffer } from "node:buffer";
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../lib/logger.ts";
import { ERROR_CODES } from "../runtime/core/error_codes.ts";
import { RejectedError, StormError } from "../runtime/core/errors.ts";
import type { AdminApi } from "./admin_api.ts";
import type { Authenticator, Principal } from "./auth.ts";
import type { Command, Dispatcher } from "./dispatcher.ts";
import type { EdgeMetrics } from "./edge_metrics.ts";
import { errorFields, toWireMessage } from "./frames.ts";
import { AddMemberBody, ChannelListQuery, ChannelName, DrainBody, MigrateBody, CreateChannelBody, DevTokenBody, HistoryQuery, LIMITS, PublishBody, UserName } from "./schemas.ts";
import { check } from "./validate.ts";

export interface HttpApiOptions {
  dispatcher: Dispatcher;
  auth: Authenticator;
  /** When true, `POST /auth/dev-token` hands out user tokens for any nickname (embedded defaults only). */
  devTokens: boolean;
  /** When true, the dev-token route also mints admin tokens (`--dev-admin`). */
  devAdmin: boolean;
  /** Readiness checks by name (`/readyz`): all true means ready. */
  readiness: () => Promise<Record<string, boolean>>;
  openapi: () => unknown;
  /** Node status: connections, channels, and which worker hosts which actor. */
  status: () => Promise<unknown>;
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** Cluster operator actions (cluster mode only). */
  admin?: AdminApi;
  /** Counts requests by route and status, errors by code. */
  counters: EdgeMetrics;
  /** Each request is logged at `debug`, a 5xx at `error`, with its request id. */
  log: Logger;
}

/** An `x-request-id` sent by a client or proxy is kept when it looks like an id; else one is made. */
const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** What a route handler gets: the request, its URL, the path's decoded parts and the response. */
export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: string[];
}

/**
 * A route's answer: `[status, body]` sent as JSON, `[status, body, headers]`, or `undefined` when
 * the handler wrote the response itself (a stream).
 */
export type RouteReply = [number, unknown] | [number, unknown, Record<string, string>] | undefined;
export type Handler = (ctx: RouteContext) => Promise<RouteReply>;

interface Route {
  method: string;
  re: RegExp;
  /** Its label in `storm_http_requests_total`: the path with `{}` for each part (`/channels/{}/messages`). */
  label: string;
  query: ReadonlySet<string>;
  handler: Handler;
}

/** Called before every routed request (rate limits); throws to refuse it. */
export type Admission = (req: IncomingMessage, url: URL) => Promise<void> | void;

/**
 * The REST transport and the router of every HTTP route. REST routes decode into the dispatcher's
 * commands; other transports (`POST /cmd`, SSE, long-poll, `/api/sync`) add their routes with
 * `route`. Every body and query is validated (a query parameter a route does not know is refused),
 * a wrong method on a known path gets `405` with `Allow`, and every failure is a JSON
 * `{ error: { code, message, retry } }` with the status of its code.
 */
export class HttpApi {
  readonly #routes: Route[] = [];
  readonly #o: HttpApiOptions;
  #admission: Admission | undefined;
  readonly #principals = new WeakMap<IncomingMessage, Promise<Principal>>();

  constructor(o: HttpApiOptions) {
    this.#o = o;
    const d = o.dispatcher;
    const route = this.route.bind(this);
    /** Runs a command for the caller and returns its result. */
    const run = async <C extends Command>(req: IncomingMessage, f: C) => d.execute(await this.principal(req), f);
    route("GET", "/livez", [], async () => [200, { ok: true }]);
    route("GET", "/healthz", [], async () => [200, { ok: true }]);
    route("GET", "/readyz", [], async () => {
      const checks = await o.readiness();
      const ready = Object.values(checks).every(Boolean);
      return [ready ? 200 : 503, { ready, checks }];
    });
    route("GET", "/openapi.json", [], async () => [200, o.openapi()]);
    route("GET", "/metrics", [], async ({ res }) => {
      if (!o.metrics) throw new RejectedError("not_found", "No metrics on this node");
      const m = await o.metrics();
      res.writeHead(200, { "content-type": m.contentType }).end(m.body);
      return undefined;
    });
    route("GET", "/status", [], async ({ req }) => {
      // Lists every actor id, private and direct channels included: operators only (G8).
      if ((await this.principal(req)).role !== "admin") throw new RejectedError("forbidden", "GET /status needs an admin token");
      return [200, await o.status()];
    });
    const admin = async (req: IncomingMessage): Promise<AdminApi> => {
      if ((await this.principal(req)).role !== "admin") throw new RejectedError("forbidden", "Operator routes need an admin token");
      if (!o.admin) throw new RejectedError("not_found", "This node is not in cluster mode");
      return o.admin;
    };
    route("GET", "/admin/nodes", [], async ({ req }) => [200, { nodes: (await admin(req)).nodes() }]);
    route("GET", "/admin/placements", ["prefix"], async ({ req, url }) => [200, { placements: await (await admin(req)).placements(url.searchParams.get("prefix") ?? "") }]);
    route("POST", "/admin/migrate", [], async ({ req }) => {
      const a = await admin(req);
      const b = check(MigrateBody, await readJson(req), "migration");
      return [200, await a.migrate(b.actor, b.to)];
    });
    route("POST", "/admin/drain", [], async ({ req }) => {
      const a = await admin(req);
      const b = check(DrainBody, await readJson(req), "drain");
      return [200, await a.drain(b.node)];
    });
    route("POST", "/auth/dev-token", [], async ({ req }) => {
      if (!o.devTokens) throw new RejectedError("not_found", "Development tokens are disabled: a production secret is configured");
      const body = check(DevTokenBody, await readJson(req), "dev-token request");
      if (body.role === "admin" && !o.devAdmin) throw new RejectedError("forbidden", "Development admin tokens are off: start the node with --dev-admin (development only)");
      return [200, { token: await o.auth.issue({ user: body.user, role: body.role ?? "user" }, body.ttl) }];
    });
    route("GET", "/users/me", [], async ({ req }) => [200, await d.session(await this.principal(req))]);
    route("POST", "/users/([^/]+)/dm", [], async ({ req, params: [other] }) => [200, { channel: await run(req, { t: "dm", id: 0, user: check(UserName, other, "user name") }) }]);
    route("GET", "/channels", ["after", "limit"], async ({ req, url }) => {
      const me = await this.principal(req);
      const q = check(ChannelListQuery, { ...numericQuery(url, ["limit"]), ...(url.searchParams.has("after") ? { after: url.searchParams.get("after") } : {}) }, "channel list query");
      return [200, await d.listChannels(me, q.after ?? "", q.limit ?? 100)];
    });
    route("POST", "/channels", [], async ({ req }) => {
      const b = check(CreateChannelBody, await readJson(req), "channel");
      return [201, await run(req, { t: "create", id: 0, ch: b.name, visibility: b.visibility, topic: b.topic, members: b.members })];
    });
    route("GET", "/channels/([^/]+)", [], async ({ req, params: [ch] }) => [200, await run(req, { t: "info", id: 0, ch: name(ch) })]);
    route("GET", "/channels/([^/]+)/messages", ["after", "before", "limit", "thread"], async ({ req, params: [ch], url }) => {
      const q = check(HistoryQuery, numericQuery(url, ["after", "before", "limit", "thread"]), "history query");
      const page = await run(req, { t: "hist", id: 0, ch: name(ch), after: q.after, before: q.before, limit: q.limit, thread: q.thread });
      return [200, { messages: page.msgs.map(toWireMessage), last: page.last, first: page.first, more: page.more, truncated: page.truncated }];
    });
    route("POST", "/channels/([^/]+)/messages", [], async ({ req, params: [ch] }) => {
      const b = check(PublishBody, await readJson(req), "message");
      const ack = await run(req, { t: "pub", id: 0, ch: name(ch), cid: b.clientId, body: b.body, ...(b.parent === undefined ? {} : { parent: b.parent }) });
      return [ack.duplicate ? 200 : 201, ack];
    });
    route("GET", "/channels/([^/]+)/members", [], async ({ req, params: [ch] }) => [200, await run(req, { t: "members", id: 0, ch: name(ch) })]);
    route("POST", "/channels/([^/]+)/members", [], async ({ req, params: [ch] }) => {
      const me = await this.principal(req);
      const b = check(AddMemberBody, await readJson(req), "member");
      const f: Command = b.user === me.user ? { t: "join", id: 0, ch: name(ch) } : { t: "invite", id: 0, ch: name(ch), user: b.user };
      return [200, await d.execute(me, f)];
    });
    route("DELETE", "/channels/([^/]+)/members/([^/]+)", [], async ({ req, params: [ch, user] }) => {
      const me = await this.principal(req);
      // Yourself: leave. Another member: a kick, which the channel allows moderators and its owner (G8).
      const f: Command = user === me.user ? { t: "leave", id: 0, ch: name(ch) } : { t: "kick", id: 0, ch: name(ch), user: check(UserName, user, "user name") };
      return [200, await d.execute(me, f)];
    });
  }

  /** Adds a route: `path` is a regular expression over the whole path; `query` the parameters it accepts. */
  route(method: string, path: string, query: readonly string[], handler: Handler): void {
    this.#routes.push({ method, re: new RegExp(`^${path}$`), label: path.replaceAll("([^/]+)", "{}"), query: new Set(query), handler });
  }

  /** Sets the check every request passes before its handler (rate limits). */
  admit(admission: Admission): void {
    this.#admission = admission;
  }

  /** The caller, from `Authorization: Bearer <jwt>` (verified once per request). */
  principal(req: IncomingMessage): Promise<Principal> {
    let p = this.#principals.get(req);
    if (!p) {
      const h = req.headers.authorization;
      this.#principals.set(req, (p = this.#o.auth.verify(h?.startsWith("Bearer ") ? h.slice(7) : undefined)));
    }
    return p;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const given = req.headers["x-request-id"];
    const requestId = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader("x-request-id", requestId);
    let reply: RouteReply;
    let route = "unmatched";
    let failure: unknown;
    try {
      const url = new URL(req.url ?? "/", "http://edge");
      const match = this.#match(req.method ?? "GET", url.pathname);
      route = match.route.label;
      for (const k of url.searchParams.keys()) {
        if (!match.route.query.has(k)) throw new RejectedError("bad_request", `Cannot accept query parameter "${k.slice(0, 40)}" on ${match.route.method} ${url.pathname.slice(0, 100)}`);
      }
      await this.#admission?.(req, url);
      reply = await match.route.handler({ req, res, url, params: match.params });
    } catch (err) {
      this.#o.counters.error(err);
      failure = err;
      if (res.headersSent) {
        this.#answered(route, res.statusCode, req, requestId, err);
        return void res.end();
      }
      reply = errorReply(err);
    }
    // A stream (SSE, a long-poll) wrote its own status.
    this.#answered(route, reply ? reply[0] : res.statusCode, req, requestId, failure);
    if (!reply) return;
    const [status, body, headers] = reply;
    res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
  }

  /** Counts a request answered (or a stream opened) and logs it. */
  #answered(route: string, status: number, req: IncomingMessage, requestId: string, err?: unknown): void {
    this.#o.counters.http.inc([route, String(status)]);
    const level = status >= 500 ? "error" : "debug";
    if (this.#o.log.enabled(level)) this.#o.log.log(level, "http request", { requestId, method: req.method, route, status, err });
  }

  #match(method: string, path: string): { route: Route; params: string[] } {
    const allowed: string[] = [];
    for (const r of this.#routes) {
      const hit = r.re.exec(path);
      if (!hit) continue;
      if (r.method === method) return { route: r, params: hit.slice(1).map(decodePathPart) };
      allowed.push(r.method);
    }
    if (allowed.length === 0) throw new RejectedError("not_found", `No route for ${method} ${path.slice(0, 100)}`);
    throw new MethodNotAllowedError(method, path, allowed);
  }
}

/** A known path asked with a method it does not serve: `405` with the `Allow` header. */
export class MethodNotAllowedError extends StormError {
  constructor(method: string, path: string, readonly allowed: string[]) {
    super("method_not_allowed", `Method ${method.slice(0, 16)} not allowed on ${path.slice(0, 100)} (allowed: ${allowed.join(", ")})`);
  }
}

/** The JSON error reply of a failure, with `Allow` or `Retry-After` when the error carries one. */
export function errorReply(err: unknown): [number, unknown, Record<string, string>] {
  const e = errorFields(err);
  const headers: Record<string, string> = {};
  if (err instanceof MethodNotAllowedError) headers["allow"] = err.allowed.join(", ");
  const retryMs = (err as { retryMs?: unknown })?.retryMs;
  if (typeof retryMs === "number") headers["retry-after"] = String(Math.max(1, Math.ceil(retryMs / 1000)));
  return [ERROR_CODES[e.code].http, { error: e }, headers];
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

export function numericQuery(url: URL, keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) {
    const v = url.searchParams.get(k);
    if (v !== null) out[k] = /^\d+$/.test(v) ? Number(v) : NaN;
  }
  return out;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads a JSON body, refusing more than `LIMITS.maxFrameBytes` before buffering it all, and bytes
 * that are not UTF-8 (as a WebSocket refuses them): never stored altered by a lenient decode.
 */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > LIMITS.maxFrameBytes) throw new StormError("too_large", `Cannot accept body: over ${LIMITS.maxFrameBytes} bytes`);
    chunks.push(chunk);
  }
  let text: string;
  try {
    text = UTF8.decode(Buffer.concat(chunks));
  } catch (err) {
    throw new StormError("bad_request", "Cannot parse body: not valid UTF-8", { cause: err });
  }
  try {
    return JSON.parse(text || "null");
  } catch (err) {
    throw new StormError("bad_request", `Cannot parse body: ${(err as Error).message}`, { cause: err });
  }
}
