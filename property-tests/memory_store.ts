import { StoreClosedError, StoreCommitUnknownError, StoreQueryError } from "../storage/errors.ts";
import { tombstoneOf } from "../storage/store.ts";
import type { AppendOutcome, EpochGrant, JournalBounds, JournalEntry, ReadMark, SearchHit, SearchPage, Snapshot, Store, TrimRule, UnreadCount } from "../storage/store.ts";

/**
 * A hand-written in-memory `Store` that follows storage/store.ts exactly (same checks, in the same
 * order as the SQL statement: fenced, then duplicate, then conflict). It keeps, as the SQL journal
 * does, the epoch every entry was written with, plus the epoch that was current at that moment, so
 * a test can audit "nothing committed with a fenced epoch" (G5) from the outside.
 *
 * `checkEpoch` / `checkDuplicates` exist only to build deliberately broken stores (broken_variants).
 */
export interface MemoryStoreOptions {
  checkEpoch?: boolean;
  checkDuplicates?: boolean;
}

export interface Committed extends JournalEntry {
  writerEpoch: number;
  currentEpochAtCommit: number;
}

interface Journal {
  entries: Committed[];
  /** Highest seq ever committed (trim keeps it). */
  last: number;
  /** Every seq at or below it was trimmed. */
  trimmed: number;
}

export class MemoryStore implements Store {
  readonly #epochs = new Map<string, { epoch: number; owner: string }>();
  readonly #journals = new Map<string, Journal>();
  readonly #snapshots = new Map<string, { epoch: number; seq: number; state: string }>();
  readonly #opts: Required<MemoryStoreOptions>;
  #closed = false;

  constructor(opts: MemoryStoreOptions = {}) {
    this.#opts = { checkEpoch: true, checkDuplicates: true, ...opts };
  }

  /** Synchronous view of the committed journal, for checks made inside callbacks. */
  journalOf(actorId: string): readonly Committed[] {
    return this.#journals.get(actorId)?.entries ?? [];
  }

  async acquireEpoch(actorId: string, owner: string): Promise<number> {
    await this.#open();
    const epoch = (this.#epochs.get(actorId)?.epoch ?? 0) + 1;
    this.#epochs.set(actorId, { epoch, owner });
    return epoch;
  }

  /** Through `acquireEpoch`, so that a subclass counting or delaying epochs sees activations' too. */
  async acquireEpochGrant(actorId: string, owner: string): Promise<EpochGrant> {
    await this.#open();
    const first = !this.#epochs.has(actorId);
    return { epoch: await this.acquireEpoch(actorId, owner), first };
  }

  async currentEpoch(actorId: string): Promise<{ epoch: number; owner: string } | null> {
    await this.#open();
    const e = this.#epochs.get(actorId);
    return e ? { ...e } : null;
  }

  async append(actorId: string, epoch: number, entries: readonly JournalEntry[]): Promise<AppendOutcome> {
    await this.#open();
    if (!this.#epochOk(actorId, epoch)) return { ok: false, reason: "fenced" };
    const j = this.#journal(actorId);
    const ids = new Set(entries.map((e) => e.clientId));
    if (ids.size !== entries.length || entries.some((e, i) => e.seq !== entries[0]!.seq + i)) {
      return { ok: false, reason: "conflict" };
    }
    if (this.#opts.checkDuplicates) {
      const existing = new Map(j.entries.filter((e) => ids.has(e.clientId)).map((e) => [e.clientId, e.seq]));
      if (existing.size > 0) return { ok: false, reason: "duplicate", existing };
    }
    if (entries.length === 0) return { ok: true };
    if (entries[0]!.seq !== j.last + 1) return { ok: false, reason: "conflict" };
    const current = this.#epochs.get(actorId)?.epoch ?? 0;
    for (const e of entries) j.entries.push({ ...copy(e), writerEpoch: epoch, currentEpochAtCommit: current });
    j.last = entries.at(-1)!.seq;
    return { ok: true };
  }

  async readAfter(actorId: string, afterSeq: number, limit: number): Promise<JournalEntry[]> {
    await this.#open();
    return this.#journal(actorId).entries.filter((e) => e.seq > afterSeq).slice(0, limit).map(copy);
  }

  async readBefore(actorId: string, beforeSeq: number, limit: number): Promise<JournalEntry[]> {
    await this.#open();
    const below = this.#journal(actorId).entries.filter((e) => e.seq < beforeSeq);
    return below.slice(Math.max(0, below.length - limit)).map(copy);
  }

  async bounds(actorId: string): Promise<JournalBounds> {
    await this.#open();
    const es = this.#journal(actorId).entries;
    return es.length === 0 ? { first: 0, last: 0 } : { first: es[0]!.seq, last: es.at(-1)!.seq };
  }

  async findClientIds(actorId: string, clientIds: readonly string[]): Promise<Map<string, number>> {
    await this.#open();
    const want = new Set(clientIds);
    return new Map(this.#journal(actorId).entries.filter((e) => want.has(e.clientId)).map((e) => [e.clientId, e.seq]));
  }

  async trim(actorId: string, epoch: number, rule: TrimRule): Promise<number | null> {
    await this.#open();
    if (!this.#epochOk(actorId, epoch)) return null;
    const j = this.#journal(actorId);
    const firstAt = (ts: number) => j.entries.find((e) => e.ts >= ts)?.seq ?? j.last + 1;
    const aged = rule.olderThan === undefined ? 0 : firstAt(rule.olderThan) - 1;
    const upto = Math.min(Math.max(rule.uptoSeq, aged), firstAt(rule.keepSince) - 1, (j.entries.at(-1)?.seq ?? 0) - 1);
    j.entries = j.entries.filter((e) => e.seq > upto);
    j.trimmed = Math.max(j.trimmed, upto);
    return j.trimmed;
  }

  async eraseSender(actorId: string, epoch: number, user: string): Promise<number | null> {
    await this.#open();
    if (!this.#epochOk(actorId, epoch)) return null;
    const j = this.#journal(actorId);
    let n = 0;
    j.entries = j.entries.map((e) => (e.sender === user ? (n++, { ...e, ...tombstoneOf(e) }) : e));
    return n;
  }

  async saveSnapshot(actorId: string, epoch: number, snapshot: Snapshot): Promise<boolean> {
    await this.#open();
    if (!this.#epochOk(actorId, epoch)) return false;
    this.#snapshots.set(actorId, { epoch, seq: snapshot.seq, state: JSON.stringify(snapshot.state) ?? "null" });
    return true;
  }

  async loadSnapshot(actorId: string): Promise<Snapshot | null> {
    await this.#open();
    const s = this.#snapshots.get(actorId);
    return s ? { seq: s.seq, state: JSON.parse(s.state) } : null;
  }

  async listSnapshots(prefix: string, afterId: string, limit: number): Promise<Array<{ actorId: string; snapshot: Snapshot }>> {
    await this.#open();
    return [...this.#snapshots.keys()]
      .filter((id) => id.startsWith(prefix) && id > afterId)
      .sort()
      .slice(0, limit)
      .map((id) => ({ actorId: id, snapshot: { seq: this.#snapshots.get(id)!.seq, state: JSON.parse(this.#snapshots.get(id)!.state) } }));
  }

  async readRefs(actorId: string, refs: readonly number[]): Promise<JournalEntry[]> {
    await this.#open();
    const want = new Set(refs);
    return this.#journal(actorId).entries.filter((e) => e.ref !== undefined && want.has(e.ref)).map(copy);
  }

  async unread(user: string, marks: readonly ReadMark[], cap: number): Promise<UnreadCount[]> {
    await this.#open();
    return marks.map((m) => {
      const es = this.#journal(m.actorId).entries;
      const unread = es.filter((e) => e.seq > m.after && (e.kind ?? "msg") === "msg" && e.sender !== user).length;
      return { actorId: m.actorId, last: this.#journal(m.actorId).last, unread: Math.min(cap, unread) };
    });
  }

  /** Like the SQL search, with a plain word match for the text search: every query word must be a word of the text. */
  async search(user: string, query: string, before: string | undefined, limit: number): Promise<SearchPage> {
    await this.#open();
    const words = (t: string) => t.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    const want = words(query);
    const hits: Array<SearchHit & { at: number }> = [];
    for (const [actorId, snap] of this.#snapshots) {
      const members = (JSON.parse(snap.state) as { members?: Record<string, string> } | null)?.members;
      if (!actorId.startsWith("channel:") || !members?.[user]) continue;
      const es = this.#journal(actorId).entries;
      for (const e of es) {
        const kind = e.kind ?? "msg";
        if (kind !== "msg" && kind !== "edit") continue;
        const seq = kind === "edit" ? e.ref! : e.seq;
        const superseded = es.some((d) => d.ref === seq && (d.kind === "delete" || (d.kind === "edit" && d.seq > e.seq)));
        const have = new Set(words(e.body));
        if (superseded || want.length === 0 || !want.every((w) => have.has(w))) continue;
        hits.push({ actorId, seq, at: e.seq, sender: e.sender, body: e.body, ts: e.ts, edited: kind === "edit" });
      }
    }
    const key = (h: { ts: number; actorId: string; at: number }) => [h.ts, h.actorId, h.at] as const;
    const below = (a: readonly [number, string, number], b: readonly [number, string, number]) =>
      a[0] !== b[0] ? a[0] < b[0] : a[1] !== b[1] ? a[1] < b[1] : a[2] < b[2];
    const cursor = before?.split(".");
    const from = cursor ? ([Number(cursor[0]), cursor.slice(2).join("."), Number(cursor[1])] as const) : undefined;
    const page = hits
      .filter((h) => !from || below(key(h), from))
      .sort((a, b) => (below(key(a), key(b)) ? 1 : -1))
      .slice(0, limit);
    const last = page.at(-1);
    return {
      hits: page.map(({ at: _at, ...h }) => h),
      ...(page.length === limit && last ? { next: `${last.ts}.${last.at}.${last.actorId}` } : {}),
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  /** One microtask hop, like a round trip, then fails if closed. */
  async #open(): Promise<void> {
    await null;
    if (this.#closed) throw new StoreClosedError("memory store is closed");
  }

  #epochOk(actorId: string, epoch: number): boolean {
    const cur = this.#epochs.get(actorId);
    if (!cur) return false;
    return this.#opts.checkEpoch ? cur.epoch === epoch : epoch <= cur.epoch;
  }

  #journal(actorId: string): Journal {
    let j = this.#journals.get(actorId);
    if (!j) this.#journals.set(actorId, (j = { entries: [], last: 0, trimmed: 0 }));
    return j;
  }
}

function copy(e: JournalEntry): JournalEntry {
  const c: JournalEntry = { seq: e.seq, clientId: e.clientId, sender: e.sender, body: e.body, ts: e.ts };
  if (e.kind !== undefined && e.kind !== "msg") c.kind = e.kind;
  if (e.ref !== undefined) c.ref = e.ref;
  return c;
}

export type FaultKind = "failBefore" | "failAfter" | "delay";

/**
 * Fault switches around any Store, each one-shot and applied to the next `append`:
 * - failBefore: throws, nothing reaches the store (nothing committed);
 * - failAfter: the append runs (and may commit), then the call throws (commit outcome unknown);
 * - delay: the append waits until `release()`; the store evaluates it (epoch check included) only then.
 * `busy` counts calls running inside the inner store, so a test can wait until the system is quiet.
 */
export class FaultyStore implements Store {
  readonly #pending: FaultKind[] = [];
  #gates: Array<() => void> = [];
  busy = 0;

  constructor(readonly inner: Store) {}

  inject(kind: FaultKind): void {
    this.#pending.push(kind);
  }

  /** Drops the faults not yet used. */
  reset(): void {
    this.#pending.length = 0;
  }

  get gated(): number {
    return this.#gates.length;
  }

  release(): void {
    const gates = this.#gates;
    this.#gates = [];
    for (const open of gates) open();
  }

  async append(actorId: string, epoch: number, entries: readonly JournalEntry[]): Promise<AppendOutcome> {
    const fault = this.#pending.shift();
    if (fault === "failBefore") throw new StoreQueryError(`injected: append to ${actorId} failed before commit`);
    if (fault === "delay") await new Promise<void>((open) => this.#gates.push(open));
    const out = await this.#track(this.inner.append(actorId, epoch, entries));
    if (fault === "failAfter") throw new StoreCommitUnknownError(`injected: append to ${actorId} lost its commit result`);
    return out;
  }

  acquireEpoch = (a: string, o: string) => this.#track(this.inner.acquireEpoch(a, o));
  acquireEpochGrant = (a: string, o: string) => this.#track(this.inner.acquireEpochGrant(a, o));
  currentEpoch = (a: string) => this.#track(this.inner.currentEpoch(a));
  readAfter = (a: string, s: number, l: number) => this.#track(this.inner.readAfter(a, s, l));
  readBefore = (a: string, s: number, l: number) => this.#track(this.inner.readBefore(a, s, l));
  bounds = (a: string) => this.#track(this.inner.bounds(a));
  findClientIds = (a: string, ids: readonly string[]) => this.#track(this.inner.findClientIds(a, ids));
  trim = (a: string, e: number, r: TrimRule) => this.#track(this.inner.trim(a, e, r));
  eraseSender = (a: string, e: number, u: string) => this.#track(this.inner.eraseSender(a, e, u));
  saveSnapshot = (a: string, e: number, s: Snapshot) => this.#track(this.inner.saveSnapshot(a, e, s));
  loadSnapshot = (a: string) => this.#track(this.inner.loadSnapshot(a));
  listSnapshots = (p: string, after: string, l: number) => this.#track(this.inner.listSnapshots(p, after, l));
  readRefs = (a: string, refs: readonly number[]) => this.#track(this.inner.readRefs(a, refs));
  unread = (u: string, m: readonly ReadMark[], cap: number) => this.#track(this.inner.unread(u, m, cap));
  search = (u: string, q: string, b: string | undefined, l: number) => this.#track(this.inner.search(u, q, b, l));
  close = () => this.inner.close();

  async #track<T>(p: Promise<T>): Promise<T> {
    this.busy++;
    try {
      return await p;
    } finally {
      this.busy--;
    }
  }
}

const never = <T>() => new Promise<T>(() => {});

/** A dead process's view of the store: calls already sent still run, but it never hears back. */
export function silencedWhen(store: Store, dead: () => boolean): Store {
  return new Proxy(store, {
    get: (target, key) => {
      const v = Reflect.get(target, key) as unknown;
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => (v as (...a: unknown[]) => Promise<unknown>).apply(target, args)
        .then((r) => (dead() ? never() : r), (e) => (dead() ? never() : Promise.reject(e)));
    },
  });
}

/**
 * Black-box fencing audit (G5): from the moment acquireEpoch returned e, an append issued with an
 * older epoch must not commit; and epochs handed out must strictly grow.
 */
export function fencingAudit(store: Store, fail: (msg: string) => void): Store {
  let newest = 0;
  return new Proxy(store, {
    get: (target, key) => {
      const v = Reflect.get(target, key) as unknown;
      if (typeof v !== "function") return v;
      const fn = (v as (...a: unknown[]) => Promise<unknown>).bind(target);
      if (key === "acquireEpoch" || key === "acquireEpochGrant") {
        return async (...a: unknown[]) => {
          const got = (await fn(...a)) as number | EpochGrant;
          const e = typeof got === "number" ? got : got.epoch;
          if (e <= newest) fail(`G5: ${key} returned ${e}, not above ${newest}`);
          newest = Math.max(newest, e);
          return got;
        };
      }
      if (key !== "append") return fn;
      return async (id: string, epoch: number, entries: readonly JournalEntry[]) => {
        const stale = epoch < newest;
        const out = (await fn(id, epoch, entries)) as AppendOutcome;
        if (out.ok && stale) fail(`G5: append with fenced epoch ${epoch} (newest ${newest}) committed seq ${entries[0]?.seq}`);
        return out;
      };
    },
  });
}
