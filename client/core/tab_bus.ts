import type { ChangeKind } from "./protocol.ts";

/** What one tab tells the others (BroadcastChannel in browsers); tabs of another user ignore it. */
export type TabMessage = { tab: string; user: string } & (
  | { k: "queued"; ch: string; cid: string; body: string; change?: { kind: ChangeKind; ref: number } }
  | { k: "committed"; ch: string; cid: string; seq: number }
  | { k: "read"; ch: string; seq: number }
);

/**
 * The tabs of one browser and user. `isLeader` holds in exactly one live tab at a time (Web Locks),
 * and only the leader adopts outbox entries whose tab is gone, so a queue is never sent by two tabs
 * (it would still commit once, by its cids: G3).
 */
export interface TabBus {
  readonly tab: string;
  post(msg: TabMessage): void;
  onMessage(listener: (msg: TabMessage) => void): () => void;
  /** True while this tab is the leader (at most one live tab at a time). */
  isLeader(): boolean;
  /** The tabs alive now (their ids), to tell orphaned outbox entries from live ones. */
  liveTabs(): Promise<Set<string>>;
  /**
   * Calls `fn` when closed tabs may have left outbox entries to adopt: this tab became the leader,
   * or a tab it heard from closed. Returns the function that stops it.
   */
  onTabsChanged?(fn: () => void): () => void;
  close(): void;
}
