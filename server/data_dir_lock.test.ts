import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DataDirLock, LOCK_FILE, lockDataDir } from "./data_dir_lock.ts";

const dir = () => mkdtempSync(join(tmpdir(), "storm-lock-"));

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

describe("data dir lock", () => {
  it("lock - a held directory cannot be taken again, and the error names the holder's pid", () => {
    const d = dir();
    const lock = DataDirLock.acquire(d);
    expect(() => DataDirLock.acquire(d)).toThrow(expect.objectContaining({ failure: "lockHeld", exitCode: 3, message: expect.stringContaining(`in use by process ${process.pid}`) }));
    lock.release();
    expect(existsSync(join(d, LOCK_FILE))).toBe(false);
    DataDirLock.acquire(d).release();
  });

  it("lock - a lock left by a process that is gone is taken over without cleanup", () => {
    const d = dir();
    writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid: deadPid(), start: "1", host: hostname() }));
    const lock = DataDirLock.acquire(d);
    expect(JSON.parse(readFileSync(join(d, LOCK_FILE), "utf8"))).toMatchObject({ pid: process.pid });
    lock.release();
  });

  it.runIf(existsSync("/proc/self/stat"))("lock - a live pid with another start time is a reused pid: the lock is stale", () => {
    const d = dir();
    writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid: process.pid, start: "1", host: hostname() }));
    DataDirLock.acquire(d).release();
  });

  it("lock - a lock written on another host is always held", () => {
    const d = dir();
    writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid: deadPid(), start: null, host: "elsewhere.example" }));
    expect(() => DataDirLock.acquire(d)).toThrow(/in use by process \d+ on host elsewhere\.example/);
  });

  it("lock - releasing leaves a lock that is no longer ours alone", () => {
    const d = dir();
    const lock = DataDirLock.acquire(d);
    const theirs = JSON.stringify({ pid: 1, start: "42", host: hostname() });
    writeFileSync(join(d, LOCK_FILE), theirs);
    lock.release();
    expect(readFileSync(join(d, LOCK_FILE), "utf8")).toBe(theirs);
  });

  it("lock - an unusable directory is a configuration error (exit 2)", () => {
    const file = join(dir(), "not-a-dir");
    writeFileSync(file, "");
    expect(() => lockDataDir(join(file, "sub"))).toThrow(expect.objectContaining({ failure: "config", exitCode: 2 }));
  });
});
