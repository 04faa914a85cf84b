import type { Channel } from "./channel.ts";
import type { OutboxStore } from "./outbox.ts";
import type { Platform } from "./platform.ts";
import type { RequestFrame, ServerFrame } from "./protocol.ts";
import { publishFrame, Publisher } from "./publisher.ts";
import type { StormClientEvents } from "./storm_client_events.ts";
import type { TabSync } from "./tab_sync.ts";

/** @internal What the session lends its offline queue. */
export interface SessionPublisherDeps {
  platform: Platform & { outbox: OutboxStore };
  tabs: TabSync;
  user(): string | undefined;
  /** True while a connection is open and the client not closed. */
  ready(): boolean;
  /** Sends a request on the open connection and waits for its reply. */
  send(frame: RequestFrame): Promise<ServerFrame>;
  channel(ch: string): Channel | undefined;
  emit: (event: "published", ...args: Parameters<StormClientEvents["published"]>) => void;
}

/**
 * @internal The session's offline queue, wired to it: an entry's progress (pending, committed,
 * failed) is shown on its channel handle and to the user's other tabs, a commit also as the
 * client's `published` event.
 */
export function sessionPublisher(d: SessionPublisherDeps): Publisher {
  const p = d.platform;
  return new Publisher({
    outbox: p.outbox, owner: d.tabs.owner, now: () => p.now(), uuid: () => p.uuid(), random: () => p.random(),
    setTimeout: (fn, ms) => p.setTimeout(fn, ms),
    ready: d.ready,
    send: async (e) => {
      const ack = (await d.send(publishFrame(e))) as Extract<ServerFrame, { t: "ack" }>;
      return { seq: ack.seq, dup: ack.dup === true };
    },
    queued: (e) => {
      d.channel(e.ch)?.dispatch("pending", { cid: e.cid, body: e.body, from: d.user(), ...(e.change ? { change: e.change } : {}) });
      d.tabs.queued(e);
    },
    committed: (e, r) => {
      d.channel(e.ch)?.dispatch("committed", { cid: e.cid, seq: r.seq });
      d.tabs.committed(e, r.seq);
      d.emit("published", r);
    },
    failed: (e, error) => d.channel(e.ch)?.dispatch("failed", { cid: e.cid, error }),
  });
}
