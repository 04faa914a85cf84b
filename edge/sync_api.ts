import type { SyncView } from "../actors/messages.ts";
import type { SyncItem } from "../actors/sync_queue.ts";
import { RejectedError, StormError } from "../runtime/core/errors.ts";
import type { Principal } from "./auth.ts";
import type { DeliverySink } from "./connection.ts";
import type { Dispatcher } from "./dispatcher.ts";
import { readJson, type HttpApi } from "./http_api.ts";
import { formatPositions, parsePositionList, type Positions } from "./positions.ts";
import { LIMITS, SyncBroadcastBody, SyncSendBody } from "./schemas.ts";
import { check } from "./validate.ts";

/** Channels one sync poll reads, and messages per channel. */
const MAX_CHANNELS = 100;
const PAGE = 100;

/** One event of `GET /api/sync/poll`: seed 004's message shape (the queue's item without its position). */
type SyncMessage = Omit<SyncItem, "n">;

/** Node figures for `GET /api/sync/status`. */
export interface SyncNodeStatus {
  connections: number;
  totalConnections: number;
  subscriptions: number;
  sse: number;
  polls: number;
}

/**
 * A parsed `since`: the cursor the last poll returned (`c<queue>.<ms>.<positions>`: the user's
 * queue position, the poll's time, and each channel's last seq returned), or a plain millisecond
 * timestamp, as in seed 004.
 */
type Since = { queue: number; ts: number; positions: Positions } | { ts: number; queue?: undefined; positions?: undefined };

/**
 * Seed 004's sync API over the dispatcher: `GET /api/sync/poll?since=` (the caller's queue and the
 * messages of their channels since a position), `POST /api/sync/send`, `GET /api/sync/status` and
 * the admin's `POST /api/sync/broadcast`. The queue lives in the user's session actor (durable,
 * bounded), so any node answers any poll; what fell off a bound is reported in `dropped`, and a
 * channel whose older messages a poll skipped is listed in `gaps`.
 */
export class SyncApi {
  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly principal: (req: Parameters<HttpApi["principal"]>[0]) => Promise<Principal>,
    /** Counts the channel messages a poll answers (`storm_deliveries_total{transport="sync"}`): pages, never a latency sample. */
    private readonly delivered: DeliverySink,
    private readonly node: () => SyncNodeStatus,
    private readonly now: () => number = Date.now,
  ) {}

  register(api: HttpApi): void {
    api.route("GET", "/api/sync/poll", ["since"], async ({ req, url }) => [200, await this.poll(await this.principal(req), url.searchParams.get("since"))]);
    api.route("POST", "/api/sync/send", [], async ({ req }) => {
      const p = await this.principal(req);
      const b = check(SyncSendBody, await readJson(req), "sync message");
      const item = await this.dispatcher.syncPush(p.user, { type: b.type, payload: payloadOf(b.payload), timestamp: this.now(), userId: p.user, correlationId: b.correlationId });
      return [200, { success: true, messageId: item.id, timestamp: item.timestamp, correlationId: item.correlationId }];
    });
    api.route("GET", "/api/sync/status", [], async ({ req }) => {
      const p = await this.principal(req);
      const view = await this.dispatcher.syncRead(p.user, { after: Number.MAX_SAFE_INTEGER });
      const n = this.node();
      return [200, {
        success: true,
        status: {
          websocket: { enabled: true, connections: n.connections, totalConnections: n.totalConnections, subscriptions: n.subscriptions },
          sse: { enabled: true, endpoint: "/sse", streams: n.sse },
          longPoll: { enabled: true, endpoint: "/poll", waiting: n.polls },
          polling: { enabled: true, endpoint: "/api/sync/poll", queues: view.last > 0 ? 1 : 0, messages: view.retained },
          lastCheck: this.now(),
        },
      }];
    });
    api.route("POST", "/api/sync/broadcast", [], async ({ req }) => {
      const p = await this.principal(req);
      if (p.role !== "admin") throw new RejectedError("forbidden", "POST /api/sync/broadcast needs an admin token");
      const b = check(SyncBroadcastBody, await readJson(req), "broadcast");
      const timestamp = this.now();
      const recipients = await this.dispatcher.syncBroadcast(b.topics, { type: b.type, payload: payloadOf(b.payload), timestamp, userId: p.user, topics: b.topics });
      return [200, { success: true, messageId: `b${timestamp.toString(36)}`, timestamp, recipients }];
    });
  }

  async poll(p: Principal, sinceText: string | null): Promise<unknown> {
    const since = parseSince(sinceText);
    const now = this.now();
    const view: SyncView = await this.dispatcher.syncRead(p.user, since.queue !== undefined ? { after: since.queue } : { since: since.ts });
    const messages: SyncMessage[] = view.items.map(toMessage);
    const positions: Positions = new Map();
    const gaps: string[] = [];
    await Promise.all(view.channels.slice(0, MAX_CHANNELS).map(async (ch) => {
      const known = since.positions?.get(ch);
      try {
        if (known !== undefined) {
          const page = await this.dispatcher.execute(p, { t: "hist", id: 0, ch, after: known, limit: PAGE });
          positions.set(ch, page.msgs.length > 0 ? page.msgs[page.msgs.length - 1]!.seq : known);
          if (page.truncated) gaps.push(ch);
          for (const e of page.msgs) messages.push(channelMessage(ch, e));
          return;
        }
        // A channel new to this cursor (or a timestamp `since`): its newest page, from `since` on.
        const page = await this.dispatcher.execute(p, { t: "hist", id: 0, ch, limit: PAGE });
        const fresh = page.msgs.filter((e) => e.ts > since.ts);
        if (fresh.length === page.msgs.length && (page.more || page.truncated) && fresh.length > 0) gaps.push(ch);
        positions.set(ch, page.last);
        for (const e of fresh) messages.push(channelMessage(ch, e));
      } catch (err) {
        // A channel the user left between the read of their channels and this one: nothing to report.
        if (!(err instanceof StormError && (err.code === "not_member" || err.code === "channel_not_found"))) throw err;
      }
    }));
    messages.sort((a, b) => a.timestamp - b.timestamp);
    const channelMessages = messages.length - view.items.length;
    if (channelMessages > 0) this.delivered.written(channelMessages, undefined);
    const cursor = `c${view.last}.${now}.${formatPositions(new Map([...positions].sort(([a], [b]) => (a < b ? -1 : 1))))}`;
    return { success: true, messages, timestamp: now, count: messages.length, cursor, dropped: view.dropped, gaps };
  }
}

function parseSince(v: string | null): Since {
  if (v === null || v === "") return { ts: 0 };
  if (/^\d{1,16}$/.test(v)) return { ts: Number(v) };
  const m = /^c(\d{1,16})\.(\d{1,16})\.(.*)$/s.exec(v);
  if (!m) throw new RejectedError("bad_request", `Cannot parse since "${v.slice(0, 40)}": expected the cursor of the last poll or a millisecond timestamp`);
  return { queue: Number(m[1]), ts: Number(m[2]), positions: m[3] ? parsePositionList(m[3], "since") : new Map() };
}

function payloadOf(payload: unknown): unknown {
  const size = JSON.stringify(payload ?? null).length;
  if (size > LIMITS.maxSyncPayloadBytes) throw new StormError("too_large", `Cannot accept a ${size}-byte payload (max ${LIMITS.maxSyncPayloadBytes})`);
  return payload ?? null;
}

function toMessage(i: SyncItem): SyncMessage {
  const { n: _n, id, type, payload, timestamp, userId, ...rest } = i;
  return { id, type, payload, timestamp, userId, ...rest };
}

function channelMessage(ch: string, e: { seq: number; ts: number; sender: string; clientId: string; body: string }): SyncMessage {
  return { id: `${ch}:${e.seq}`, type: "message", payload: { ch, seq: e.seq, from: e.sender, cid: e.clientId, body: e.body }, timestamp: e.ts, userId: e.sender };
}
