import type { Command, Dispatcher } from "./dispatcher.ts";
import type { HttpApi } from "./http_api.ts";
import { numericQuery, readJson } from "./http_api.ts";
import { ChannelName, ChannelPatchBody, DeleteQuery, EditBody, MessageSeq, MuteBody, ReactBody, RoleBody, SearchQuery, UserName } from "./schemas.ts";
import { check } from "./validate.ts";
import type { PublishAck } from "../actors/messages.ts";

/**
 * The REST routes of the chat features: edits, deletes, reactions, moderation and search. Each
 * decodes into the dispatcher's commands, as the WebSocket frames do, so both enforce the same
 * rules (the channel actor's, G8). A change answers like a publish: `201` with its new seq, `200`
 * with `duplicate: true` for a client id already used.
 */
export function chatRoutes(api: HttpApi, d: Dispatcher): void {
  const run = async <C extends Command>(req: Parameters<HttpApi["principal"]>[0], f: C) => d.execute(await api.principal(req), f);
  const ack = (a: PublishAck): [number, PublishAck] => [a.duplicate ? 200 : 201, a];
  const msg = "/channels/([^/]+)/messages/([^/]+)";

  api.route("PATCH", msg, [], async ({ req, params: [ch, seq] }) => {
    const b = check(EditBody, await readJson(req), "edit");
    return ack(await run(req, { t: "edit", id: 0, ch: channel(ch), seq: messageSeq(seq), cid: b.clientId, body: b.body }));
  });
  api.route("DELETE", msg, ["clientId"], async ({ req, params: [ch, seq], url }) => {
    const q = check(DeleteQuery, Object.fromEntries(url.searchParams), "delete query");
    return ack(await run(req, { t: "delete", id: 0, ch: channel(ch), seq: messageSeq(seq), ...(q.clientId === undefined ? {} : { cid: q.clientId }) }));
  });
  api.route("POST", `${msg}/reactions`, [], async ({ req, params: [ch, seq] }) => {
    const b = check(ReactBody, await readJson(req), "reaction");
    return ack(await run(req, { t: "react", id: 0, ch: channel(ch), seq: messageSeq(seq), cid: b.clientId, emoji: b.emoji }));
  });
  api.route("DELETE", `${msg}/reactions`, [], async ({ req, params: [ch, seq] }) => {
    const b = check(ReactBody, await readJson(req), "reaction");
    return ack(await run(req, { t: "unreact", id: 0, ch: channel(ch), seq: messageSeq(seq), cid: b.clientId, emoji: b.emoji }));
  });
  api.route("PATCH", "/channels/([^/]+)", [], async ({ req, params: [ch] }) => {
    const me = await api.principal(req);
    const b = check(ChannelPatchBody, await readJson(req), "channel change");
    let info: unknown;
    if (b.visibility !== undefined) info = await d.execute(me, { t: "visibility", id: 0, ch: channel(ch), visibility: b.visibility });
    if (b.topic !== undefined) info = await d.execute(me, { t: "topic", id: 0, ch: channel(ch), topic: b.topic });
    return [200, info ?? (await d.execute(me, { t: "info", id: 0, ch: channel(ch) }))];
  });
  api.route("PUT", "/channels/([^/]+)/members/([^/]+)/role", [], async ({ req, params: [ch, user] }) => {
    const b = check(RoleBody, await readJson(req), "role");
    return [200, await run(req, { t: "role", id: 0, ch: channel(ch), user: userName(user), role: b.role })];
  });
  api.route("PUT", "/channels/([^/]+)/bans/([^/]+)", [], async ({ req, params: [ch, user] }) => [200, await run(req, { t: "ban", id: 0, ch: channel(ch), user: userName(user) })]);
  api.route("DELETE", "/channels/([^/]+)/bans/([^/]+)", [], async ({ req, params: [ch, user] }) => [200, await run(req, { t: "unban", id: 0, ch: channel(ch), user: userName(user) })]);
  api.route("PUT", "/channels/([^/]+)/mutes/([^/]+)", [], async ({ req, params: [ch, user] }) => {
    const b = check(MuteBody, await readJson(req), "mute");
    return [200, await run(req, { t: "mute", id: 0, ch: channel(ch), user: userName(user), ms: b.ms })];
  });
  api.route("DELETE", "/channels/([^/]+)/mutes/([^/]+)", [], async ({ req, params: [ch, user] }) => [200, await run(req, { t: "mute", id: 0, ch: channel(ch), user: userName(user), ms: 0 })]);
  api.route("GET", "/search", ["q", "before", "limit"], async ({ req, url }) => {
    const raw: Record<string, unknown> = { ...Object.fromEntries(url.searchParams), ...numericQuery(url, ["limit"]) };
    const q = check(SearchQuery, raw, "search query");
    return [200, await run(req, { t: "search", id: 0, q: q.q, ...(q.before === undefined ? {} : { before: q.before }), ...(q.limit === undefined ? {} : { limit: q.limit }) })];
  });
}

function channel(ch: string | undefined): string {
  return check(ChannelName, ch, "channel name");
}

function userName(u: string | undefined): string {
  return check(UserName, u, "user name");
}

function messageSeq(seq: string | undefined): number {
  return check(MessageSeq, seq !== undefined && /^\d{1,16}$/.test(seq) ? Number(seq) : NaN, "message seq");
}
