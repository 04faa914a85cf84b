/**
 * Who is in which room on Storm Day, derived from the number of users alone (no randomness, so a
 * load process computes its users' rooms itself, as the driver does when it creates them):
 * - a few huge rooms: user i is in huge room `i % hugeRooms` when `(i / hugeRooms) % stride == 0`,
 *   so their members are spread over every load process and node;
 * - two layers of small rooms of `smallSize` users: `s0-<i / smallSize>` (neighbours) and
 *   `s1-<i % count>` (users far apart), so each user is in two;
 * - direct conversations: users with `i % 10` in 1 … dmShare*10 pair up (1 with 2, 3 with 4, ...):
 *   20 % of users by default.
 *
 * Sampled rooms (huge room 0 and `s0-0 … s0-<groups-1>`) are published into by the recording
 * clients only, so the history checker sees every message of them; the bulk users subscribe to
 * them like to any other room.
 */
export interface PopulationOptions {
  users: number;
  /** Huge rooms (default 3). */
  hugeRooms?: number;
  /** Members of a huge room at most (default: users / 50, between 50 and 2,000; see `hugeSize`). */
  hugeSize?: number;
  /** Users per small room (default 25). */
  smallSize?: number;
  /** Share of users with a direct conversation, rounded to tenths (default 0.2). */
  dmShare?: number;
  /** Recording groups: each has its sampled small room (default 2). */
  groups?: number;
}

export interface Rooms {
  /** Huge room, or undefined. */
  huge?: string;
  small: [string, string];
  dm?: string;
}

export const HUGE_CAP = 2_000;

/**
 * Huge rooms stay at or below 2,000 members: a subscribe announces the user's presence to every
 * subscriber of the room, so filling a room of m costs m²/2 presence frames (2 M at 2,000; 550 M
 * at 33,000), and every reconnect in it 2m more.
 */
export function hugeSize(users: number, hugeRooms: number): number {
  return Math.max(1, Math.min(HUGE_CAP, Math.max(50, Math.round(users / 50)), Math.floor(users / hugeRooms)));
}

export class Population {
  readonly users: number;
  readonly hugeRooms: number;
  readonly smallSize: number;
  readonly groups: number;
  readonly #stride: number;
  readonly #s1Count: number;
  readonly #dmTenths: number;

  constructor(o: PopulationOptions) {
    if (!Number.isSafeInteger(o.users) || o.users < 2) throw new RangeError(`Cannot plan a population of ${o.users} users: 2 or more are needed`);
    this.users = o.users;
    this.hugeRooms = o.hugeRooms ?? 3;
    this.smallSize = Math.min(o.smallSize ?? 25, o.users);
    this.groups = Math.max(1, Math.min(o.groups ?? 2, Math.ceil(o.users / this.smallSize)));
    const size = o.hugeSize ?? hugeSize(o.users, this.hugeRooms);
    this.#stride = Math.max(1, Math.ceil(o.users / (this.hugeRooms * size)));
    this.#s1Count = Math.ceil(o.users / this.smallSize);
    this.#dmTenths = Math.round((o.dmShare ?? 0.2) * 10);
  }

  static userName(i: number): string {
    return `u${i}`;
  }

  roomsOf(i: number): Rooms {
    const h = Math.floor(i / this.hugeRooms) % this.#stride === 0 ? `huge${i % this.hugeRooms}` : undefined;
    const small: [string, string] = [`s0-${Math.floor(i / this.smallSize)}`, `s1-${i % this.#s1Count}`];
    const r: Rooms = { small };
    if (h !== undefined) r.huge = h;
    const partner = this.dmPartner(i);
    if (partner !== undefined) r.dm = dmName(Population.userName(i), Population.userName(partner));
    return r;
  }

  /** The other user of i's direct conversation, if i has one. */
  dmPartner(i: number): number | undefined {
    const d = i % 10;
    if (d === 0 || d > this.#dmTenths) return undefined;
    const other = d % 2 === 1 ? i + 1 : i - 1;
    return other < this.users ? other : undefined;
  }

  /** Every public room with its members (user indexes), in creation order: huge rooms first. */
  publicRooms(): Map<string, number[]> {
    const rooms = new Map<string, number[]>();
    const add = (name: string, i: number) => {
      let m = rooms.get(name);
      if (!m) rooms.set(name, (m = []));
      m.push(i);
    };
    for (let h = 0; h < this.hugeRooms; h++) rooms.set(`huge${h}`, []);
    for (let i = 0; i < this.users; i++) {
      const r = this.roomsOf(i);
      if (r.huge) add(r.huge, i);
      add(r.small[0], i);
      add(r.small[1], i);
    }
    for (const [name, m] of rooms) if (m.length === 0) rooms.delete(name);
    return rooms;
  }

  /** Every direct conversation, as [lower index, higher index]. */
  dmPairs(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < this.users; i++) {
      const p = this.dmPartner(i);
      if (p !== undefined && p > i) out.push([i, p]);
    }
    return out;
  }

  /** Rooms only the recording clients publish into. */
  sampledRooms(): string[] {
    return ["huge0", ...Array.from({ length: this.groups }, (_, g) => `s0-${g}`)];
  }
}

/** `dm:<a>:<b>` with the two names sorted, as the server names it. */
export function dmName(a: string, b: string): string {
  return a < b ? `dm:${a}:${b}` : `dm:${b}:${a}`;
}
