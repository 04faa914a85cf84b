import type { TabBus, TabMessage } from "../core/tab_bus.ts";

const never = () => new Promise<void>(() => {});

/**
 * The tabs of one browser: messages on a `BroadcastChannel`, liveness and leadership from the Web
 * Locks API. Each tab holds the lock `storm-tab-<id>` while it lives (the browser releases it when
 * the tab closes or crashes), and the tab holding `storm-leader` is the leader; when it goes, the
 * next waiting tab gets the lock.
 */
export class BroadcastTabBus implements TabBus {
  readonly tab = crypto.randomUUID();
  readonly #channel: BroadcastChannel;
  #leader = false;
  readonly #changed = new Set<() => void>();
  /** Tabs heard from whose lock this tab waits on: granted means that tab is gone. */
  readonly #watched = new Set<string>();

  constructor(name = "storm-tabs") {
    this.#channel = new BroadcastChannel(name);
    void navigator.locks.request(`storm-tab-${this.tab}`, never);
    void navigator.locks.request("storm-leader", () => {
      this.#leader = true;
      this.#notify();
      return never();
    });
    this.#channel.addEventListener("message", (ev: MessageEvent<TabMessage>) => this.#watch(ev.data.tab));
  }

  onTabsChanged(fn: () => void): () => void {
    this.#changed.add(fn);
    return () => this.#changed.delete(fn);
  }

  #watch(tab: string): void {
    if (tab === this.tab || this.#watched.has(tab)) return;
    this.#watched.add(tab);
    // Granted once that tab is gone; notified after the release, so `liveTabs` no longer lists it.
    void navigator.locks.request(`storm-tab-${tab}`, () => undefined).then(() => {
      this.#watched.delete(tab);
      this.#notify();
    });
  }

  #notify(): void {
    for (const fn of [...this.#changed]) fn();
  }

  post(msg: TabMessage): void {
    this.#channel.postMessage(msg);
  }

  onMessage(listener: (msg: TabMessage) => void): () => void {
    const h = (ev: MessageEvent<TabMessage>) => listener(ev.data);
    this.#channel.addEventListener("message", h);
    return () => this.#channel.removeEventListener("message", h);
  }

  isLeader(): boolean {
    return this.#leader;
  }

  async liveTabs(): Promise<Set<string>> {
    const { held } = await navigator.locks.query();
    return new Set((held ?? []).map((l) => l.name ?? "").filter((n) => n.startsWith("storm-tab-")).map((n) => n.slice("storm-tab-".length)));
  }

  close(): void {
    this.#channel.close();
  }
}
