import type { LocalCluster } from "../../deploy/local_cluster.ts";
import type { FaultInjector, InjectedFault } from "../chaos/injector.ts";
import type { DayPlan, Incident } from "./schedule.ts";
import type { Injected } from "./timeline.ts";

/** What the day's load can be asked to do, for the spike and the reconnect storm. */
export interface LoadControl {
  setRateFactor(factor: number): Promise<void>;
  /** Drops `share` of the ready connections at once (they reconnect and resume); resolves with how many. */
  reconnect(share: number): Promise<number>;
}

export interface DayIncidentsOptions {
  cluster: LocalCluster;
  /** The chaos suite's injector: kills and pauses nodes, restarts them, restarts nodes that exit unasked. */
  injector: FaultInjector;
  load: LoadControl;
  /** The day's start (ms since the epoch): incident times are relative to it. */
  t0: number;
  log(line: string): void;
}

/** One incident as it happened (times in ms since the epoch). */
interface Done {
  inc: Incident;
  at: number;
  doneAt?: number;
  outcome: string;
  fault?: InjectedFault;
}

/** Node victims: the kill hits n2, the pause n3 (n1 answers the admin calls). */
const VICTIM = { kill: 1, pause: 2 } as const;

/**
 * Injects each incident of a Storm Day plan at its time and records when it happened and when the
 * injector was done with it. Node faults go through the chaos suite's FaultInjector (the same
 * kill -9 and SIGSTOP past the lease, the same restarts); PostgreSQL and the Hazelcast member are
 * restarted in place by the local cluster; the spike and the reconnect storm are asked of the load.
 */
export class DayIncidents {
  readonly #o: DayIncidentsOptions;
  readonly #done: Done[] = [];

  constructor(o: DayIncidentsOptions) {
    this.#o = o;
  }

  async run(plan: DayPlan, stopped: () => boolean): Promise<void> {
    for (const inc of plan.incidents) {
      while (Date.now() < this.#o.t0 + inc.atMs && !stopped()) await sleep(Math.min(200, this.#o.t0 + inc.atMs - Date.now()));
      if (stopped()) return;
      const rec: Done = { inc, at: Date.now(), outcome: "" };
      this.#done.push(rec);
      try {
        await this.#inject(inc, rec, stopped);
      } catch (err) {
        rec.outcome = `failed: ${err instanceof Error ? err.message : String(err)}`;
      }
      this.#o.log(`incident ${inc.kind} at T+${((rec.at - this.#o.t0) / 1000).toFixed(1)} s: ${rec.outcome || "injected"}`);
    }
  }

  /** The incidents so far, relative to t0 (node faults: done when the node is back). */
  injected(): Injected[] {
    return this.#done.map((r) => {
      const doneAt = r.fault ? r.fault.backAt : r.doneAt;
      return {
        kind: r.inc.kind, atMs: r.at - this.#o.t0, outcome: r.fault ? r.fault.outcome : r.outcome,
        ...(doneAt === undefined ? {} : { doneAtMs: doneAt - this.#o.t0 }),
      };
    });
  }

  async #inject(inc: Incident, rec: Done, stopped: () => boolean): Promise<void> {
    const { cluster, injector, load } = this.#o;
    switch (inc.kind) {
      case "kill":
      case "pause": {
        const before = injector.injected.length;
        await injector.run([{ index: before, kind: inc.kind, atMs: 0, node: VICTIM[inc.kind], holdMs: inc.holdMs, downMs: inc.holdMs }], Date.now(), stopped);
        rec.fault = injector.injected[before];
        if (rec.fault) rec.at = rec.fault.at;
        return;
      }
      case "postgres":
        await cluster.restartPostgres({ crash: false });
        rec.doneAt = Date.now();
        rec.outcome = `restarted in ${rec.doneAt - rec.at} ms`;
        return;
      case "hazelcast":
        await cluster.restartHazelcast();
        rec.doneAt = Date.now();
        rec.outcome = `restarted in ${rec.doneAt - rec.at} ms`;
        return;
      case "spike":
        await load.setRateFactor(inc.factor);
        await sleep(inc.holdMs);
        await load.setRateFactor(1);
        rec.doneAt = Date.now();
        rec.outcome = `x${inc.factor} for ${rec.doneAt - rec.at} ms`;
        return;
      case "reconnect": {
        const n = await load.reconnect(inc.factor);
        rec.doneAt = Date.now();
        rec.outcome = `${n} connections dropped at once`;
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}
