import { once } from "node:events";
import type { ServerResponse } from "node:http";
import type { SessionView } from "../actors/messages.ts";
import type { UserDataStore } from "../storage/user_data_store.ts";
import { type ActorGateway, sessionActor } from "./gateway.ts";

export interface ExportOptions {
  /** Journal entries read per store call; the response never holds more than one page. */
  pageSize: number;
}

/**
 * Writes everything Storm holds about `user` to `res` as one JSON document, streamed: the session
 * (channels, read markers, open connections), the channels they are a member of (with role), then
 * every message they wrote (channel, seq, client id, time, body), read page by page from the store
 * and written as each page comes, waiting for the socket to drain between pages. Memory stays one
 * page, whatever the user wrote. A client that goes away stops the reads.
 *
 * Shape: `{"user","exportedAt","session":{...},"sync":[...],"memberships":[...],"messages":[...],"counts":{...}}`
 * (`sync`: the user's `/api/sync` queue as it stands).
 */
export async function streamExport(res: ServerResponse, actors: ActorGateway, store: UserDataStore, user: string, o: ExportOptions): Promise<void> {
  const session = await actors.ask<SessionView>(sessionActor(user), { type: "get" });
  const sync = await actors.ask<{ items: unknown[] }>(sessionActor(user), { type: "sync_read", after: 0 });
  res.writeHead(200, {
    "content-type": "application/json",
    "content-disposition": `attachment; filename="storm-export-${user}.json"`,
  });
  let gone = false;
  res.once("close", () => (gone = true));
  const write = async (text: string) => {
    if (!res.write(text)) await Promise.race([once(res, "drain"), once(res, "close")]);
  };
  await write(`{"user":${JSON.stringify(user)},"exportedAt":${Date.now()},"session":${JSON.stringify({
    channels: session.channels, reads: session.reads, connections: session.connections,
  })},"sync":${JSON.stringify(sync.items)},"memberships":[`);
  let memberships = 0;
  for (let after = ""; !gone;) {
    const page = await store.memberships(user, after, o.pageSize);
    if (page.length === 0) break;
    const items = page.map((m) => JSON.stringify({ channel: channelName(m.actorId), role: m.role, owner: m.owner, visibility: m.visibility }));
    await write((memberships > 0 ? "," : "") + items.join(","));
    memberships += page.length;
    after = page[page.length - 1]!.actorId;
  }
  await write(`],"messages":[`);
  let messages = 0;
  for (let at: [string, number] = ["", 0]; !gone;) {
    const page = await store.userMessages(user, at[0], at[1], o.pageSize);
    if (page.length === 0) break;
    const items = page.map((m) => JSON.stringify({ channel: channelName(m.actorId), seq: m.seq, cid: m.clientId, ts: m.ts, body: m.body }));
    await write((messages > 0 ? "," : "") + items.join(","));
    messages += page.length;
    const last = page[page.length - 1]!;
    at = [last.actorId, last.seq];
  }
  res.end(`],"counts":${JSON.stringify({ memberships, messages })}}`);
}

function channelName(actorId: string): string {
  return actorId.startsWith("channel:") ? actorId.slice("channel:".length) : actorId;
}
