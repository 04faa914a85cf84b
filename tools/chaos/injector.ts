import type { ChildProcess } from "node:child_process";
import type { LocalCluster } from "../../deploy/local_cluster.ts";
import { type Fault, type FaultKind, maxDown } from "./nemesis.ts";

/** A fault as it was injected on the real cluster. */
export interface InjectedFault {
  index: number;
  kind: FaultKind;
  plannedAtMs: number;
  /** Wall-clock time of the injection (the signal, or the admin call), ms since the Unix epoch. */
  at: number;
  /** The node hit or drained (`n2`) and its incarnation id. */
  node?: string;
  nodeId?: string;
  /** The migrated channel. */
  channel?: string;
  /** kill, pause, restart, drain: the channels whose actor was on the node; migrate: the channel. */
  affected: string[];
  /** What happened, for people: `SIGCONT, rejoined as n2.z; back after 5310 ms`, `n1.x -> n3.y`. */
  outcome: string;
  /** When the node listened again (node faults). */
  backAt?: number;
  /** Injected as planned. */
  ok: boolean;
}

/** Something the cluster did that the nemesis did not ask for, or not as the design says. */
export interface Anomaly {
  at: number;
  node: string;
  /**
   * `exit`: a node exited without a fault (a crash, or exit 75: it lost its lease and could not
   * rejoin in place): reported; `pause`: a node stopped past its lease did not rejoin in place (as a new
   * incarnation, its process kept) within `REJOIN_AFTER_PAUSE_MS` of SIGCONT;
   * `stop`: a node sent SIGTERM did not drain and exit 0 within `GRACEFUL_STOP_MS`.
   */
  kind: "exit" | "pause" | "stop";
  what: string;
}

export interface InjectorOptions {
  cluster: LocalCluster;
  channels: readonly string[];
  adminToken: string;
  log(line: string): void;
  /** Each injected fault and anomaly, as it happens. */
  record(item: { fault: InjectedFault } | { anomaly: Anomaly }): void;
}

/** How long a node stopped past its lease may take to rejoin as a new incarnation after SIGCONT. */
const REJOIN_AFTER_PAUSE_MS = 15_000;
/** How long a node fault may wait for an earlier victim to come back before it is skipped. */
const SLOT_WAIT_MS = 60_000;
/**
 * A graceful stop (SIGTERM: hand the actors off, close the sockets, give the lease back) must end
 * in exit 0 within this: Kubernetes' grace (deploy/k8s/statefulset.yaml, 60 s) less its preStop's wait.
 */
const GRACEFUL_STOP_MS = 30_000;
const HTTP_TIMEOUT_MS = 5_000;

/**
 * Applies a nemesis plan (`planFaults`) to a real local cluster, at the planned times. It enforces
 * the majority rule on the real cluster too: a node fault waits until fewer than `maxDown` nodes
 * are down (a restart may take longer than planned). A node fault returns once the signal is
 * sent; the victim's recovery (restart after the hold, exit then restart after a pause) runs in
 * the background. A node that exits on its own is an anomaly: it is recorded and restarted.
 */
export class FaultInjector {
  readonly injected: InjectedFault[] = [];
  readonly anomalies: Anomaly[] = [];
  readonly #o: InjectorOptions;
  /** Node i is up: listening and not under a fault. */
  readonly #up: boolean[];
  readonly #recoveries = new Set<Promise<void>>();
  #closed = false;
  #fatal: Error | undefined;

  constructor(o: InjectorOptions) {
    this.#o = o;
    this.#up = o.cluster.nodes.map(() => true);
    for (let i = 0; i < o.cluster.nodes.length; i++) this.#watch(i);
  }

  /** The nodes up now (indexes). */
  upNodes(): number[] {
    return this.#up.flatMap((up, i) => (up ? [i] : []));
  }

  /** A recovery that could not restart its node: the run cannot go on. */
  get fatal(): Error | undefined {
    return this.#fatal;
  }

  /** Injects each fault at `start + atMs`, until the plan ends or `stopped()` holds. */
  async run(plan: readonly Fault[], start: number, stopped: () => boolean): Promise<void> {
    for (const f of plan) {
      while (Date.now() < start + f.atMs && !stopped() && !this.#fatal) await sleep(Math.min(200, start + f.atMs - Date.now()));
      if (stopped() || this.#fatal) return;
      const rec: InjectedFault = { index: f.index, kind: f.kind, plannedAtMs: f.atMs, at: Date.now(), affected: [], outcome: "", ok: false };
      try {
        if (f.kind === "migrate") await this.#migrate(f, rec);
        else if (f.kind === "drain") await this.#drain(f, rec);
        else await this.#nodeFault(f, rec);
      } catch (err) {
        rec.outcome = `failed: ${why(err)}`;
      }
      this.injected.push(rec);
      if (rec.kind === "migrate" || rec.kind === "drain" || !rec.ok) this.#o.record({ fault: rec });
      this.#o.log(`fault ${f.index} ${f.kind}${rec.node ? ` ${rec.node}` : ""}: ${rec.outcome} (affected: ${rec.affected.join(" ") || "none"})`);
    }
  }

  /** Waits for every recovery, then restarts any node still down. */
  async heal(): Promise<void> {
    while (this.#recoveries.size > 0) await Promise.allSettled([...this.#recoveries]);
    for (let i = 0; i < this.#up.length; i++) if (!this.#up[i]) await this.#restart(i);
  }

  /** No more restarts; waits (bounded) for recoveries in progress, so that none starts a node after teardown. */
  async close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    await Promise.race([Promise.allSettled([...this.#recoveries]), sleep(timeoutMs)]);
  }

  async #nodeFault(f: Fault, rec: InjectedFault): Promise<void> {
    const limit = maxDown(this.#up.length);
    const down = () => this.#up.filter((u) => !u).length;
    const waitUntil = Date.now() + SLOT_WAIT_MS;
    let i: number;
    for (;;) {
      while (down() >= limit) {
        if (Date.now() > waitUntil || this.#closed) throw new Error(`no slot: ${down()} node(s) still down`);
        await sleep(100);
      }
      i = await this.#victim(f);
      rec.affected = await this.#channelsOn(this.#o.cluster.nodes[i]!.id, i);
      // Checked again after the admin calls: a node may have gone down meanwhile.
      if (down() < limit && this.#up[i]) break;
    }
    const n = this.#o.cluster.nodes[i]!;
    rec.node = n.name;
    rec.nodeId = n.id;
    this.#up[i] = false;
    rec.at = Date.now();
    /** What happened, and whether the node is back already (a rejoin in place) or must be started again. */
    let recovery: () => Promise<{ what: string; back: boolean }>;
    if (f.kind === "kill") {
      n.proc.kill("SIGKILL");
      recovery = async () => {
        await exited(n.proc, Infinity);
        await sleep(f.holdMs!);
        return { what: `SIGKILL, restarted ${f.holdMs} ms later`, back: false };
      };
    } else if (f.kind === "pause") {
      const before = n.id;
      n.proc.kill("SIGSTOP");
      recovery = async () => {
        await sleep(f.holdMs!);
        n.proc.kill("SIGCONT");
        // Past its lease the node drops its actors and takes a lease again as a new incarnation,
        // in the same process (the cluster learns the new id from its `rejoined` line).
        const exit = await rejoinedOrExited(n, before, REJOIN_AFTER_PAUSE_MS);
        if (exit === "rejoined") return { what: `SIGSTOP for ${f.holdMs} ms, SIGCONT, rejoined as ${n.id}`, back: true };
        const what = exit === null ? `neither rejoined nor exited within ${REJOIN_AFTER_PAUSE_MS} ms of SIGCONT` : `exited ${exit} instead of rejoining`;
        this.#anomaly(n.name, "pause", `${before}, stopped for ${f.holdMs} ms (longer than its lease), ${what}`);
        return { what: `SIGSTOP for ${f.holdMs} ms, SIGCONT, ${what}`, back: false };
      };
    } else {
      n.proc.kill("SIGTERM");
      recovery = async () => {
        const stoppedAt = Date.now();
        const exit = await exited(n.proc, GRACEFUL_STOP_MS);
        if (exit !== "0") this.#anomaly(n.name, "stop", `${n.id} ${exit === null ? `still running ${GRACEFUL_STOP_MS} ms after SIGTERM` : `exited ${exit} after SIGTERM, not 0`}`);
        return { what: `SIGTERM, ${exit === null ? "did not exit" : `exited ${exit} after ${Date.now() - stoppedAt} ms`}, started again`, back: false };
      };
    }
    rec.ok = true;
    rec.outcome = `${f.kind} injected`;
    this.#track((async () => {
      const { what, back } = await recovery();
      if (back) {
        // Same process, still watched for an exit of its own.
        rec.backAt = Date.now();
        this.#up[i] = true;
      } else await this.#restart(i, rec);
      rec.outcome = `${what}; ${rec.backAt === undefined ? "NOT back" : `back after ${rec.backAt - rec.at} ms`}`;
      this.#o.record({ fault: rec });
    })());
  }

  /** The owner of the aimed channel when it is up, else the planned node when up, else any node up. */
  async #victim(f: Fault): Promise<number> {
    if (f.channel !== undefined) {
      const owner = await this.#ownerOf(this.#o.channels[f.channel]!).catch(() => undefined);
      const i = this.#o.cluster.nodes.findIndex((n) => n.id === owner);
      if (i >= 0 && this.#up[i]) return i;
    }
    return this.#up[f.node!] ? f.node! : this.#up.findIndex((u) => u);
  }

  /** The node id a channel's actor is placed on, if any. */
  async #ownerOf(ch: string, via = this.#via(-1)): Promise<string | undefined> {
    const actor = `channel:${ch}`;
    const placements = (await this.#http(via, "GET", `/admin/placements?prefix=${encodeURIComponent(actor)}`)) as Placements;
    return placements.placements.find((p) => p.id === actor)?.placement.node;
  }

  async #migrate(f: Fault, rec: InjectedFault): Promise<void> {
    const ch = this.#o.channels[f.channel!]!;
    const actor = `channel:${ch}`;
    rec.channel = ch;
    rec.affected = [ch];
    let last: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const via = this.#via(-1);
        const live = ((await this.#http(via, "GET", "/admin/nodes")) as { nodes: Array<{ node: string }> }).nodes.map((n) => n.node);
        const known = new Set(this.upNodes().map((i) => this.#o.cluster.nodes[i]!.id));
        const from = await this.#ownerOf(ch, via);
        const up = live.filter((n) => known.has(n));
        const candidates = (up.length > 0 ? up : live).filter((n) => n !== from);
        if (candidates.length === 0) throw new Error(`no live node to move ${actor} to`);
        const to = candidates[Math.floor(f.pick! * candidates.length)]!;
        rec.at = Date.now();
        const res = (await this.#http(via, "POST", "/admin/migrate", { actor, to })) as { from: string | null; to: string };
        rec.outcome = `${actor}: ${res.from ?? "(none)"} -> ${res.to}`;
        rec.ok = true;
        return;
      } catch (err) {
        last = err;
        await sleep(300);
      }
    }
    throw last;
  }

  async #drain(f: Fault, rec: InjectedFault): Promise<void> {
    const i = this.#up[f.node!] ? f.node! : this.#up.findIndex((u) => u);
    if (i < 0) throw new Error("no node up to drain");
    const n = this.#o.cluster.nodes[i]!;
    rec.node = n.name;
    rec.nodeId = n.id;
    rec.affected = await this.#channelsOn(n.id, i);
    rec.at = Date.now();
    const res = (await this.#http(this.#via(i), "POST", "/admin/drain", { node: n.id })) as { moved: number; failed: string[] };
    rec.outcome = `moved ${res.moved} actor(s)${res.failed.length > 0 ? `, failed: ${res.failed.join(" ")}` : ""}`;
    rec.ok = true;
  }

  /** Channels whose actor is placed on `nodeId`, asked of another node. */
  async #channelsOn(nodeId: string, self: number): Promise<string[]> {
    try {
      const list = (await this.#http(this.#via(self), "GET", "/admin/placements?prefix=channel%3A")) as Placements;
      const mine = new Set(this.#o.channels.map((ch) => `channel:${ch}`));
      return list.placements.filter((p) => p.placement.node === nodeId && mine.has(p.id)).map((p) => p.id.slice("channel:".length));
    } catch (err) {
      this.#o.log(`cannot list placements before a fault on ${nodeId}: ${why(err)}`);
      return [];
    }
  }

  /** An up node other than `not`, to send admin calls to. */
  #via(not: number): number {
    const i = this.upNodes().find((j) => j !== not);
    if (i === undefined) throw new Error("no node up to send the admin call to");
    return i;
  }

  async #http(i: number, method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.#o.cluster.nodes[i]!.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.#o.adminToken}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} on n${i + 1}: ${res.status} ${text.slice(0, 200)}`);
    return JSON.parse(text);
  }

  /** Restarts node i (retrying a start that fails); records when it is back. */
  async #restart(i: number, rec?: InjectedFault): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.#closed) return;
      try {
        await this.#o.cluster.restart(i);
        if (rec) rec.backAt = Date.now();
        this.#watch(i);
        this.#up[i] = true;
        return;
      } catch (err) {
        this.#o.log(`restart of n${i + 1} failed (attempt ${attempt}): ${why(err)}`);
        if (attempt >= 3) {
          this.#fatal ??= new Error(`node n${i + 1} does not start again: ${why(err)}`);
          return;
        }
        await sleep(1_000);
      }
    }
  }

  /** A node exiting while up (not by the nemesis' hand) is an anomaly; it is restarted. */
  #watch(i: number): void {
    const n = this.#o.cluster.nodes[i]!;
    n.proc.once("exit", (code, signal) => {
      if (this.#o.cluster.nodes[i] !== n || !this.#up[i] || this.#closed) return;
      this.#up[i] = false;
      this.#anomaly(n.name, "exit", `${n.id} exited on its own (${code ?? signal})`);
      this.#track(this.#restart(i));
    });
  }

  #anomaly(node: string, kind: Anomaly["kind"], what: string): void {
    const a: Anomaly = { at: Date.now(), node, kind, what };
    this.anomalies.push(a);
    this.#o.record({ anomaly: a });
    this.#o.log(`ANOMALY ${node}: ${what}`);
  }

  #track(p: Promise<void>): void {
    const tracked = p.catch((err) => {
      this.#fatal ??= err instanceof Error ? err : new Error(String(err));
    }).finally(() => this.#recoveries.delete(tracked));
    this.#recoveries.add(tracked);
  }
}

type Placements = { placements: Array<{ id: string; placement: { node: string } }> };

/**
 * `rejoined` once node `n` took an incarnation id other than `before` (its process kept), its exit
 * code (or signal) if it exited instead, or null after `timeoutMs`.
 */
async function rejoinedOrExited(n: { id: string; proc: ChildProcess }, before: string, timeoutMs: number): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const exit = n.proc.exitCode ?? n.proc.signalCode;
    if (exit !== null) return String(exit);
    if (n.id !== before) return "rejoined";
    await sleep(50);
  }
  return null;
}

/** Resolves with the exit code (or signal) once `proc` has exited, or null after `timeoutMs`. */
function exited(proc: ChildProcess, timeoutMs: number): Promise<string | null> {
  const now = proc.exitCode ?? proc.signalCode;
  if (now !== null) return Promise.resolve(String(now));
  return new Promise((resolve) => {
    const timer = Number.isFinite(timeoutMs) ? setTimeout(() => resolve(null), timeoutMs) : undefined;
    proc.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolve(String(code ?? signal));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

function why(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
