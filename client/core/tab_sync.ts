import type { Channel } from "./channel.ts";
import type { OutboxEntry, OutboxStore } from "./outbox.ts";
import type { StormClientEvents } from "./storm_client_events.ts";
import type { TabBus } from "./tab_bus.ts";

type Emit = <K extends keyof StormClientEvents>(event: K, ...args: Parameters<StormClientEvents[K]>) => void;

/**
 * What the tabs of one user share: a publish queued in one tab shows as pending in the others
 * until committed, a read marker moved in one moves in all at once (before the server's `user`
 * event), and the leader tab adopts the outbox entries of tabs that closed before sending them.
 * Without a tab bus (Node, Deno) every method is a no-op and the process owns its whole outbox.
 */
export class TabSync {
  readonly owner: string;

  constructor(
    private readonly tabs: TabBus | undefined,
    private readonly user: () => string | undefined,
  ) {
    this.owner = tabs?.tab ?? "local";
  }

  queued(e: OutboxEntry): void {
    this.tabs?.post({ k: "queued", tab: this.owner, user: this.user() ?? "", ch: e.ch, cid: e.cid, body: e.body, ...(e.change ? { change: e.change } : {}) });
  }

  committed(e: OutboxEntry, seq: number): void {
    this.tabs?.post({ k: "committed", tab: this.owner, user: this.user() ?? "", ch: e.ch, cid: e.cid, seq });
  }

  read(ch: string, seq: number): void {
    this.tabs?.post({ k: "read", tab: this.owner, user: this.user() ?? "", ch, seq });
  }

  /**
   * Shows the other tabs' news on this tab's handles, and adopts the entries of tabs that closed
   * (`restore`) as soon as the bus says one did or this tab became the leader, not only at this
   * tab's next `welcome`; returns the function that stops both.
   */
  listen(channel: (ch: string) => Channel | undefined, emit: Emit, outbox: OutboxStore, restore: (orphans: OutboxEntry[]) => void): (() => void) | undefined {
    const tabs = this.tabs;
    if (!tabs) return undefined;
    const offChanged = tabs.onTabsChanged?.(() => {
      const user = this.user();
      if (user !== undefined) void this.orphans(outbox, user).then(restore);
    });
    const offMessages = tabs.onMessage((m) => {
      if (m.user !== this.user()) return;
      if (m.k === "queued") channel(m.ch)?.dispatch("pending", { cid: m.cid, body: m.body, from: m.user, ...(m.change ? { change: m.change } : {}) });
      else if (m.k === "committed") channel(m.ch)?.dispatch("committed", { cid: m.cid, seq: m.seq });
      else emit("read", { ch: m.ch, seq: m.seq });
    });
    return () => {
      offMessages();
      offChanged?.();
    };
  }

  /** The entries of closed tabs of `user`, when this tab leads (one tab only: no double send). */
  async orphans(outbox: OutboxStore, user: string): Promise<OutboxEntry[]> {
    const tabs = this.tabs;
    if (!tabs?.isLeader()) return [];
    const live = await tabs.liveTabs();
    return (await outbox.list()).filter((e) => e.owner !== this.owner && !live.has(e.owner) && (e.user === undefined || e.user === user));
  }
}
