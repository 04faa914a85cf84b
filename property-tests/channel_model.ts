import type { Buffer } from "node:buffer";
import { actorFactories } from "../actors/index.ts";
import { type ChannelActorOptions, defaultChannelOptions } from "../actors/channel_actor.ts";
import type { EdgeEvent, HistoryReply, PublishAck, SubscribeReply } from "../actors/messages.ts";
import type { ActorFactory, Envelope } from "../runtime/core/actor.ts";
import { ActorHost } from "../runtime/core/actor_host.ts";
import { FakeClock } from "../runtime/core/clock.ts";
import { Connection } from "../edge/connection.ts";
import { Fanout } from "../edge/fanout.ts";
import { msgsFrame } from "../edge/frames.ts";
import { SendTurn } from "../edge/send_turn.ts";
import type { JournalEntry, Store } from "../storage/store.ts";
import { FaultyStore, fencingAudit, MemoryStore, silencedWhen } from "./memory_store.ts";
import { ChangeModel, type ChangeRequest, type ChangeWhat } from "./change_model.ts";

/** Small windows so that paging, eviction from memory and store fallbacks all get exercised. */
export const CHANNEL_OPTIONS: ChannelActorOptions = { ...defaultChannelOptions, historySize: 4, dedupeWindow: 6 };
const PAGE = 3;
const USERS = ["u1", "u2", "u3"];
const EDGES = ["edge:e0", "edge:e0", "edge:e1"];

export interface WorldOptions {
  /** The shared durable store (a MemoryStore, or PGlite). */
  store: Store;
  /** Deliberately broken layer placed between the actors and the fault switches (broken_variants). */
  wrap?(store: Store): Store;
  /** Also expect the live stream to survive an in-place actor restart (same node, new epoch). */
  strictLive?: boolean;
  channel?: ChannelActorOptions;
  /** Actor factories (default: the real ones, actors/index.ts); broken_variants swaps in a bad one. */
  factories?: Record<string, ActorFactory>;
}

export interface HostRec { n: number; nodeId: string; host: ActorHost; dead: boolean; epoch: number; stops: number }
interface ClientRec {
  i: number; user: string; edge: string; conn?: Connection; lastSeen: number; cids: string[];
  live?: { host: HostRec; epoch: number; restarts: number; stops: number };
}
interface Expect { seq: number; clientId: string; body?: string; what: string }

let runs = 0;

/**
 * The system under test (ActorHosts running the real ChannelActor on one store, edges made of the
 * real Fanout and Connection) plus the checks of G1–G5, made as things happen and after each step.
 */
export class World {
  readonly ch = `channel:p${++runs}`;
  /** The channel's name, as edges key their subscriptions (`ch` is the actor id). */
  readonly name = this.ch.slice("channel:".length);
  readonly clock = new FakeClock();
  readonly faults: FaultyStore;
  readonly memory: MemoryStore | undefined;
  readonly hosts: HostRec[] = [];
  readonly clients: ClientRec[];
  readonly fanouts = new Map<string, Fanout>();
  readonly acked = new Map<string, number>();
  /** Edits, deletes and reactions asked for and acknowledged (checked against G1-G4 and the current version). */
  readonly changes = new ChangeModel();
  readonly violations: string[] = [];
  /** What happened, for coverage reports. */
  readonly stats: Record<string, number> = {};
  route!: HostRec;
  #shared: Store;
  #deferred: Expect[] = [];
  #streams = new Map<string, number>();
  #cid = 0;
  #connId = 0;

  constructor(readonly opts: WorldOptions) {
    this.memory = opts.store instanceof MemoryStore ? opts.store : undefined;
    this.faults = new FaultyStore(opts.store);
    this.#shared = fencingAudit(opts.wrap ? opts.wrap(this.faults) : this.faults, this.fail);
    this.clients = USERS.map((user, i) => ({ i, user, edge: EDGES[i]!, lastSeen: 0, cids: [] }));
    for (const e of EDGES) this.fanouts.set(e, new Fanout());
  }

  async setup(): Promise<void> {
    this.newHost();
    await this.ask(this.route, { type: "create", user: "u1", visibility: "public", topic: "", members: ["u2", "u3"] });
  }

  count = (what: string): void => void (this.stats[what] = (this.stats[what] ?? 0) + 1);
  fail = (msg: string): void => void this.violations.push(msg);

  /** A fresh host (a new node process) on the same store; it becomes where new messages go. */
  newHost(): HostRec {
    const rec = { n: this.hosts.length, nodeId: `node-${this.hosts.length}`, dead: false, epoch: 0, stops: 0 } as HostRec;
    rec.host = new ActorHost({
      nodeId: rec.nodeId, store: silencedWhen(this.#shared, () => rec.dead), clock: this.clock, idlePassivateMs: 0,
      factories: this.opts.factories ?? actorFactories(this.opts.channel ?? CHANNEL_OPTIONS),
      send: (to, msg) => this.#onSend(rec, to, msg),
      onLifecycle: (ev) => {
        if (ev.id !== this.ch || rec.dead) return;
        if (ev.type === "stopped") return void rec.stops++;
        rec.epoch = ev.epoch;
        this.route = rec; // the registry records the newest placement
      },
    });
    this.hosts.push(rec);
    this.route = rec;
    return rec;
  }

  /** An ask; `onReply` runs inside the actor's reply call (to see the activation that answered). */
  ask<T = unknown>(rec: HostRec, msg: unknown, onReply = () => {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let replied: unknown;
      let done = false;
      const env: Envelope = {
        msg,
        get replied() { return done; },
        reply: (v) => {
          if (done && replied !== v && JSON.stringify(replied) !== JSON.stringify(v)) this.fail(`ask ${JSON.stringify(msg)} answered twice`);
          done = true;
          replied = v;
          onReply();
          resolve(v as T);
        },
        fail: (err) => {
          if (done) return;
          done = true;
          reject(err);
        },
      };
      rec.host.deliver(this.ch, env);
    });
  }

  /** In-place restarts of the channel's cell on a host (-1: no cell there). */
  restarts(rec: HostRec): number {
    return rec.host.list().find((a) => a.id === this.ch)?.restarts ?? -1;
  }

  /** A tell; `processed` runs when the actor has handled it (the actor answers tells too, unheard). */
  tell(rec: HostRec, msg: unknown, processed = () => {}): void {
    rec.host.deliver(this.ch, { msg, replied: false, reply: processed, fail() {} });
  }

  freshCid(c: number): string {
    const cid = `c${c}-${++this.#cid}`;
    this.clients[c]!.cids.push(cid);
    return cid;
  }

  /** Publishes `cid` through `rec`; the ack is checked when it comes (G2, G3). */
  publish(rec: HostRec, c: number, cid: string): void {
    const user = this.clients[c]!.user;
    const wasCommitted = this.memory?.journalOf(this.ch).some((e) => e.clientId === cid) ?? false;
    this.ask<PublishAck>(rec, { type: "publish", user, clientId: cid, body: bodyOf(cid) }).then((ack) => {
      const prev = this.acked.get(cid);
      if (prev !== undefined && prev !== ack.seq) this.fail(`G3: ${cid} acked with seq ${prev}, then with seq ${ack.seq}`);
      if (wasCommitted && !ack.duplicate) this.fail(`G3: ${cid} was committed before this retry but ack says duplicate=false`);
      this.acked.set(cid, ack.seq);
      this.changes.messages.set(ack.seq, { user, body: bodyOf(cid) });
      this.count(ack.duplicate ? "ack duplicate" : "ack new");
      this.#expect({ seq: ack.seq, clientId: cid, body: bodyOf(cid), what: `ack of ${cid} by ${rec.nodeId}` });
    }, (err: Error) => this.count(`publish failed: ${err.name}`));
  }

  /** Client `c` asks for a new change (`k` picks its message), through the current placement. */
  change(c: number, what: ChangeWhat, k: number): void {
    const r = this.changes.request(this.clients[c]!.user, what, k);
    if (r) this.sendChange(r);
  }

  /** Sends (or re-sends) a change; its ack is checked like a publish's (G2, G3). */
  sendChange(r: ChangeRequest, rec = this.route): void {
    this.ask<PublishAck>(rec, ChangeModel.message(r)).then((ack) => {
      const prev = this.changes.acks.get(r.cid);
      if (prev !== undefined && prev !== ack.seq) this.fail(`G3: change ${r.cid} acked with seq ${prev}, then with seq ${ack.seq}`);
      this.changes.acks.set(r.cid, ack.seq);
      this.count(`${r.what} acked`);
      this.#expect({ seq: ack.seq, clientId: r.cid, body: r.body, what: `ack of change ${r.cid}` });
    }, (err: Error & { code?: string }) => this.count(`${r.what} failed: ${err.code ?? err.name}`));
  }

  /** The current version of every message, as the actor's history shows it, must be the model's. */
  async checkCurrent(): Promise<void> {
    const journal = await this.opts.store.readAfter(this.ch, 0, 1_000_000);
    this.changes.checkRefs(journal, this.fail);
    const page = await this.ask<HistoryReply>(this.route, { type: "history", user: "u1", after: 0, limit: 1_000_000, current: true });
    this.changes.checkCurrent(page.msgs, this.fail);
    if (this.violations.length > 0) throw new Error(`violations:\n  ${this.violations.join("\n  ")}`);
  }

  /** Reconnects client `c` and resumes from its last seen seq, as edge/frame_handler.ts does (G4). */
  async resume(c: number, rec = this.route, slow = false): Promise<void> {
    const cl = this.clients[c]!;
    const fanout = this.fanouts.get(cl.edge)!;
    const ackedBefore = Math.max(0, ...this.acked.values());
    if (cl.conn) {
      if (fanout.unsubscribe(cl.conn, this.name)) this.#unsubscribe(rec, cl.edge);
      cl.conn.close(1000, "reconnect");
    }
    const socket = { bufferedAmount: 0, send: (data: string | Buffer) => this.#onFrame(cl, conn, String(data)), close: (code: number) => this.count(`socket closed ${code}`) };
    const conn = new Connection(++this.#connId, { user: cl.user, role: "user", exp: Infinity }, socket, new SendTurn((fn) => fn()), 1e12, this.clock.now());
    cl.conn = conn;
    cl.live = undefined;
    const after = cl.lastSeen;
    fanout.subscribe(conn, this.name, after);
    const sub = conn.subs.get(this.name)!;
    let page: SubscribeReply;
    let live: ClientRec["live"];
    const answered = () => void (live = { host: rec, epoch: rec.epoch, restarts: this.restarts(rec), stops: rec.stops });
    try {
      page = await this.#edgeAsk<SubscribeReply>(slow, rec, { type: "subscribe", user: cl.user, edge: cl.edge, after, limit: PAGE }, answered);
    } catch (err) {
      this.count(`resume failed: ${(err as Error).name}`);
      if (fanout.unsubscribe(conn, this.name)) this.#unsubscribe(rec, cl.edge);
      return;
    }
    if (conn.subs.get(this.name) !== sub) return;
    if (sub.cursor > page.last) sub.cursor = page.last; // as frame_handler.ts does
    if (page.truncated) this.fail(`G4: resume of c${c} after ${after} reported truncated (nothing was trimmed)`);
    if (page.last < ackedBefore) this.fail(`G4: resume of c${c} served by ${rec.nodeId} (epoch ${rec.epoch}) says last=${page.last}, but seq ${ackedBefore} was acked before it began`);
    for (let pages = 0; ; ) {
      const fresh = page.msgs.filter((m) => m.seq > sub.cursor);
      if (fresh.length > 0) {
        conn.push(msgsFrame(this.name, fresh));
        sub.cursor = fresh.at(-1)!.seq;
      }
      if (!page.more && fanout.goLive(conn, this.name, sub)) {
        if (cl.lastSeen < page.last) this.fail(`G4: resume of c${c} after ${after} stopped at ${cl.lastSeen}, last was ${page.last}`);
        cl.live = live;
        this.count("resume done");
        return;
      }
      this.count("history page");
      if (++pages > 1_000) return this.fail(`G4: resume of c${c} after ${after} pages on without end (cursor ${sub.cursor}, last ${page.last})`);
      try {
        page = await this.#edgeAsk<SubscribeReply>(slow, rec, { type: "history", user: cl.user, after: sub.cursor, limit: PAGE });
      } catch {
        return;
      }
      if (conn.subs.get(this.name) !== sub || conn.closed) return;
    }
  }

  /** Waits until no store call is running (gated appends stay gated) and the edges caught up. */
  async quiet(): Promise<void> {
    for (let idle = 0, i = 0; idle < 3 && i < 5_000; i++) {
      await new Promise((r) => setImmediate(r));
      idle = this.faults.busy === 0 ? idle + 1 : 0;
    }
  }

  /** Checks the journal and everything observed so far; returns the journal. */
  async check(): Promise<JournalEntry[]> {
    const journal = await this.opts.store.readAfter(this.ch, 0, 1_000_000);
    const ids = new Set<string>();
    journal.forEach((e, i) => {
      if (e.seq !== i + 1) this.fail(`G1: journal position ${i} holds seq ${e.seq} (gap or disorder)`);
      if (ids.has(e.clientId)) this.fail(`G3: client id ${e.clientId} appended twice (second at seq ${e.seq})`);
      ids.add(e.clientId);
    });
    for (const e of this.memory?.journalOf(this.ch) ?? []) {
      if (e.writerEpoch !== e.currentEpochAtCommit) this.fail(`G5: seq ${e.seq} committed by fenced epoch ${e.writerEpoch} (current ${e.currentEpochAtCommit})`);
    }
    for (const x of this.#deferred.splice(0)) this.#verify(x, journal);
    for (const [cid, seq] of this.acked) this.#verify({ seq, clientId: cid, what: `acked ${cid}` }, journal);
    const owner = await this.opts.store.currentEpoch(this.ch);
    for (const cl of this.clients) {
      const live = cl.live;
      if (!live || !cl.conn || cl.conn.closed || live.host.dead || this.faults.gated > 0 || !owner) continue;
      // Same cell on the same host still owning the channel; unless strictLive, also no in-place restart.
      const same = owner.owner === live.host.nodeId && live.host.stops === live.stops &&
        (this.opts.strictLive || (owner.epoch === live.epoch && this.restarts(live.host) === live.restarts));
      if (same && cl.lastSeen !== journal.length) {
        this.fail(`G4: c${cl.i} is live on ${live.host.nodeId} (subscribed at epoch ${live.epoch}, now ${owner.epoch}) but saw ${cl.lastSeen} of ${journal.length}`);
      }
    }
    if (this.violations.length > 0) throw new Error(`violations:\n  ${this.violations.join("\n  ")}`);
    return journal;
  }

  /** A slow edge handles a reply a loop turn late: edge events sent meanwhile get there first (held). */
  async #edgeAsk<T>(slow: boolean, rec: HostRec, msg: unknown, onReply?: () => void): Promise<T> {
    const v = await this.ask<T>(rec, msg, onReply);
    if (slow) await new Promise((r) => setImmediate(r));
    return v;
  }

  /** The edge's last socket left: once the actor drops the edge, its stream may restart with a gap. */
  #unsubscribe(rec: HostRec, edge: string): void {
    this.tell(rec, { type: "unsubscribe", edge }, () => this.#streams.delete(`${rec.nodeId}/${rec.epoch}/${edge}`));
  }

  #expect(x: Expect): void {
    this.#deferred.push(x);
    if (this.memory) this.#verify({ ...x, what: `${x.what} (at that moment)` }, this.memory.journalOf(this.ch));
  }

  #verify(x: Expect, journal: readonly JournalEntry[]): void {
    const e = journal[x.seq - 1];
    if (!e || e.seq !== x.seq || e.clientId !== x.clientId || (x.body !== undefined && e.body !== x.body)) {
      this.fail(`G2: ${x.what}: seq ${x.seq}/${x.clientId} is not in the journal (found ${e ? `${e.seq}/${e.clientId}` : "nothing"})`);
    }
  }

  #onSend(rec: HostRec, to: string, msg: unknown): void {
    if (rec.dead || !to.startsWith("edge:")) return;
    const ev = msg as EdgeEvent;
    if (ev.type === "msgs") {
      const key = `${rec.nodeId}/${rec.epoch}/${to}`;
      let prev = this.#streams.get(key);
      for (const e of ev.m) {
        if (prev !== undefined && e.seq !== prev + 1) this.fail(`G1: ${key} emitted seq ${e.seq} after ${prev}`);
        prev = e.seq;
        this.#expect({ seq: e.seq, clientId: e.clientId, body: e.body, what: `delivery to ${to} from ${key}` });
      }
      if (prev !== undefined) this.#streams.set(key, prev);
    }
    this.fanouts.get(to)?.onEvent(ev);
  }

  #onFrame(cl: ClientRec, conn: Connection, data: string): void {
    if (cl.conn !== conn) return;
    const v = JSON.parse(data) as unknown;
    for (const f of (Array.isArray(v) ? v : [v]) as Array<{ t: string; m?: Array<{ seq: number; cid: string; body: string }> }>) {
      if (f.t !== "msgs") continue;
      for (const m of f.m!) {
        if (m.seq !== cl.lastSeen + 1) this.fail(`G4: client c${cl.i} shown seq ${m.seq} after ${cl.lastSeen}`);
        cl.lastSeen = Math.max(cl.lastSeen, m.seq);
        this.#expect({ seq: m.seq, clientId: m.cid, body: m.body, what: `shown to c${cl.i}` });
      }
    }
  }
}

export const bodyOf = (cid: string) => `body of ${cid}`;
