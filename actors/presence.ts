/**
 * Who is online in a channel, counted per edge so that losing an edge (a node) drops exactly the
 * users it carried. A user is online while at least one of their connections, on any edge, is.
 */
export class Presence {
  readonly #byEdge = new Map<string, Map<string, number>>();

  /** Returns true when the user's online status changed. */
  update(edge: string, user: string, online: boolean): boolean {
    const before = this.isOnline(user);
    let users = this.#byEdge.get(edge);
    if (!users) this.#byEdge.set(edge, (users = new Map()));
    const n = (users.get(user) ?? 0) + (online ? 1 : -1);
    if (n > 0) users.set(user, n);
    else users.delete(user);
    if (users.size === 0) this.#byEdge.delete(edge);
    return before !== this.isOnline(user);
  }

  /** Forgets an edge; returns the users that went offline with it. */
  dropEdge(edge: string): string[] {
    const users = this.#byEdge.get(edge);
    if (!users) return [];
    this.#byEdge.delete(edge);
    return [...users.keys()].filter((u) => !this.isOnline(u));
  }

  isOnline(user: string): boolean {
    for (const users of this.#byEdge.values()) if (users.has(user)) return true;
    return false;
  }

  onlineUsers(): string[] {
    const all = new Set<string>();
    for (const users of this.#byEdge.values()) for (const u of users.keys()) all.add(u);
    return [...all].sort();
  }
}
