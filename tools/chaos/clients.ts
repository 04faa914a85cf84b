import { type ChildProcess, fork } from "node:child_process";
import { createWriteStream } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ChaosClient, type ClientProgress, type Recorded } from "./chaos_client.ts";

/**
 * Chaos clients run in a few child processes of their own (so that the nemesis and the runner do
 * not share an event loop with them), each holding several `ChaosClient`s and writing one history
 * file (JSON Lines, `checker/history.ts`) in the order things happened to its clients. The
 * runner talks to them over the IPC channel:
 * runner → process: `start`, `stopPublishing`, `finish`; process → runner: `progress`, `done`.
 */
export interface ClientSpec {
  name: string;
  token: string;
}

export interface ClientProcessConfig {
  clients: ClientSpec[];
  urls: string[];
  channels: string[];
  ratePerSec: number;
  window: number;
  pubTimeoutMs: number;
  staleMs: number;
  /** The history file this process writes. */
  file: string;
}

type ToChild = { type: "start"; config: ClientProcessConfig } | { type: "stopPublishing" } | { type: "finish" };
type FromChild =
  | { type: "progress"; clients: ClientProgress[] }
  | { type: "stopped"; clients: ClientProgress[] }
  | { type: "done"; clients: ClientProgress[] };

export interface ClientFleet {
  /** The latest progress of every client (reported every 250 ms). */
  progress(): ClientProgress[];
  /** Stops new publishes; resolves once every process has stopped, so that `progress()` is fresh. */
  stopPublishing(): Promise<void>;
  /** Closes every client, flushes the histories, waits for the processes to exit (SIGKILL past the timeout). */
  finish(timeoutMs: number): Promise<ClientProgress[]>;
  /** SIGKILLs the processes (teardown after a failure). */
  kill(): void;
}

const ENTRY = fileURLToPath(import.meta.url);

/** Forks one process per config and starts its clients. */
export function startClientProcesses(configs: ClientProcessConfig[], log: (line: string) => void): ClientFleet {
  const latest = new Map<number, ClientProgress[]>();
  const stopped = new Set<number>();
  let onStopped = () => {};
  const procs: ChildProcess[] = configs.map((config, i) => {
    const child = fork(ENTRY, ["--chaos-client"], { stdio: ["ignore", "inherit", "pipe", "ipc"] });
    child.stderr!.on("data", (d: Buffer) => log(`[clients ${i}] ${d.toString().trimEnd()}`));
    child.on("message", (m: FromChild) => {
      latest.set(i, m.clients);
      if (m.type === "stopped") {
        stopped.add(i);
        onStopped();
      }
    });
    child.on("exit", (code, signal) => {
      if (code !== 0) log(`[clients ${i}] exited with ${code ?? signal}`);
    });
    child.send({ type: "start", config } satisfies ToChild);
    return child;
  });
  const all = () => [...latest.values()].flat();
  return {
    progress: all,
    stopPublishing() {
      const live = () => procs.filter((p, i) => !stopped.has(i) && p.exitCode === null && p.signalCode === null);
      return new Promise<void>((done) => {
        onStopped = () => {
          if (live().length === 0) done();
        };
        for (const p of procs) if (p.connected) p.send({ type: "stopPublishing" } satisfies ToChild);
        onStopped();
      });
    },
    async finish(timeoutMs) {
      await Promise.all(procs.map((p) => new Promise<void>((done) => {
        if (p.exitCode !== null || p.signalCode !== null) return done();
        const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
        p.once("exit", () => {
          clearTimeout(timer);
          done();
        });
        if (p.connected) p.send({ type: "finish" } satisfies ToChild);
      })));
      return all();
    },
    kill() {
      for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    },
  };
}

/** The child side: runs the clients of one config until `finish`. */
function runClientProcess(): void {
  let clients: ChaosClient[] = [];
  let out: ReturnType<typeof createWriteStream> | undefined;
  let reporter: NodeJS.Timeout | undefined;
  const send = (m: FromChild) => process.send?.(m);
  const log = (msg: string) => process.stderr.write(`${msg}\n`);
  process.on("disconnect", () => process.exit(1)); // the runner is gone: do not linger
  process.on("message", (m: ToChild) => {
    if (m.type === "start") {
      const c = m.config;
      const file = createWriteStream(c.file, { flags: "a" });
      out = file;
      clients = c.clients.map((spec) => new ChaosClient({
        name: spec.name, token: spec.token, urls: c.urls, channels: c.channels, ratePerSec: c.ratePerSec, window: c.window,
        pubTimeoutMs: c.pubTimeoutMs, staleMs: c.staleMs, log,
        record: (e: Recorded) => file.write(`${JSON.stringify({ ...e, client: spec.name, t: Date.now() })}\n`),
      }));
      reporter = setInterval(() => send({ type: "progress", clients: clients.map((x) => x.progress()) }), 250);
    } else if (m.type === "stopPublishing") {
      for (const x of clients) x.stopPublishing();
      send({ type: "stopped", clients: clients.map((x) => x.progress()) });
    } else if (m.type === "finish") {
      clearInterval(reporter);
      for (const x of clients) x.close();
      const final = clients.map((x) => x.progress());
      // Exit only once the history is flushed and the last report has left.
      const exit = () => void process.send!({ type: "done", clients: final } satisfies FromChild, () => process.exit(0));
      if (out) out.end(exit);
      else exit();
    }
  });
}

if (process.argv.includes("--chaos-client") && process.argv[1] && resolve(process.argv[1]) === ENTRY) runClientProcess();
