import { linkSync, mkdirSync, readFileSync, rmdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { StartupError } from "./startup_error.ts";

/** Who holds a data directory: enough to tell a live holder from a dead one whose pid was reused. */
export interface LockHolder {
  pid: number;
  /** The holder's start time as the kernel counts it (`/proc/<pid>/stat` field 22); null off Linux. */
  start: string | null;
  host: string;
}

export const LOCK_FILE = "storm.lock";

/**
 * The exclusive hold of a node on its data directory, for the node's whole life (G2 must not depend
 * on an operator never starting two nodes on one directory: both would ack into one store).
 *
 * A lock file names the holder's pid and start time. It is created atomically (written under a
 * private name, then `link`ed into place: a reader never sees it half-written), and a lock whose
 * holder is gone is taken over without manual cleanup: the holder counts as alive only if its pid
 * exists (`kill(pid, 0)`) and, on Linux, has the same start time, so a pid reused after a crash does
 * not keep the directory locked. Off Linux (no /proc) only the pid is compared. A lock written on
 * another host (a shared volume) is always taken as held: its process cannot be checked from here.
 * Two processes breaking one stale lock take turns through a `mkdir` mutex.
 */
export class DataDirLock {
  #released = false;

  private constructor(
    private readonly file: string,
    readonly holder: LockHolder,
  ) {}

  /**
   * Takes the directory (which must exist), or fails with a `StartupError("lockHeld")` naming the
   * holder's pid. Synchronous: nothing else of the node runs before it.
   */
  static acquire(dir: string): DataDirLock {
    const file = join(dir, LOCK_FILE);
    const me: LockHolder = { pid: process.pid, start: startTime(process.pid), host: hostname() };
    const tmp = `${file}.${process.pid}.${Date.now().toString(36)}`;
    writeFileSync(tmp, JSON.stringify(me));
    try {
      for (let attempt = 0; attempt < 20; attempt++) {
        try {
          linkSync(tmp, file);
          return new DataDirLock(file, me);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        }
        const text = readText(file);
        if (text === undefined) continue;
        const holder = parseHolder(text);
        if (holder && isAlive(holder)) {
          throw new StartupError("lockHeld",
            `Cannot start: the data directory ${dir} is in use by process ${holder.pid}${holder.host !== me.host ? ` on host ${holder.host}` : ""} ` +
            `(stop it, or give this node its own --data-dir)`);
        }
        breakStale(file, text);
      }
      throw new StartupError("lockHeld", `Cannot start: the lock ${file} keeps changing hands (another node starting on the same --data-dir?)`);
    } finally {
      unlinkSync(tmp);
    }
  }

  /** Gives the directory up (a graceful stop); a crash leaves the file, which the next start takes over. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    const holder = parseHolder(readText(this.file) ?? "");
    if (holder?.pid === this.holder.pid && holder.start === this.holder.start) unlinkSync(this.file);
  }
}

/**
 * Creates the data directory if needed and takes it: the first thing a node does, before loading
 * the rest of its code, so a second node on the directory exits at once.
 * @throws {StartupError} `config` (cannot create it) or `lockHeld`
 */
export function lockDataDir(dir: string): DataDirLock {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new StartupError("config", `Cannot create the data directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? err} (fix --data-dir or its permissions)`);
  }
  try {
    return DataDirLock.acquire(dir);
  } catch (err) {
    if (err instanceof StartupError) throw err;
    throw new StartupError("config", `Cannot lock the data directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? err} (fix --data-dir or its permissions)`);
  }
}

/** Removes a stale lock, unless someone replaced it meanwhile; one breaker at a time. */
function breakStale(file: string, staleText: string): void {
  const mutex = `${file}.break`;
  try {
    mkdirSync(mutex);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    // A breaker killed between mkdir and rmdir would leave the mutex forever: past 10 s it is stale.
    const age = Date.now() - (statOrUndefined(mutex)?.mtimeMs ?? Date.now());
    if (age > 10_000) rmdirSync(mutex);
    else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    return;
  }
  try {
    if (readText(file) === staleText) unlinkSync(file);
  } finally {
    rmdirSync(mutex);
  }
}

function isAlive(h: LockHolder): boolean {
  if (h.host !== hostname()) return true;
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    // EPERM: the pid exists but belongs to another user.
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const now = startTime(h.pid);
  return h.start === null || now === null || now === h.start;
}

/** A process's start time in clock ticks since boot (Linux), or null where /proc is not there. */
function startTime(pid: number): string | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === undefined) return null;
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ")".
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    return typeof h.pid === "number" && typeof h.host === "string" ? { pid: h.pid, start: h.start ?? null, host: h.host } : undefined;
  } catch {
    return undefined;
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

function statOrUndefined(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
