import { describe, expect, it } from "vitest";
import { TaskPool } from "./task_pool.ts";

const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

/** A task that records its start and ends when told to (or fails, with `fail`). */
function gate(started: number[], n: number) {
  let end!: () => void;
  let fail!: () => void;
  const task = () => {
    started.push(n);
    return new Promise<void>((resolve, reject) => {
      end = resolve;
      fail = () => reject(new Error(`task ${n} failed`));
    });
  };
  return { task, end: () => end(), fail: () => fail() };
}

describe("TaskPool", () => {
  it("task pool - runs at most its limit at once, the rest in the order they were added as slots free", async () => {
    const pool = new TaskPool(2);
    const started: number[] = [];
    const tasks = [0, 1, 2, 3, 4].map((n) => gate(started, n));
    for (const t of tasks) pool.add(t.task);
    await settle();
    expect(started).toEqual([0, 1]);
    expect([pool.running, pool.waiting]).toEqual([2, 3]);
    tasks[1]!.end();
    await settle();
    expect(started).toEqual([0, 1, 2]);
    tasks[0]!.fail(); // a failure frees its slot like a success
    await settle();
    expect(started).toEqual([0, 1, 2, 3]);
    tasks[2]!.end();
    tasks[3]!.end();
    await settle();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    tasks[4]!.end();
    await settle();
    expect([pool.running, pool.waiting]).toEqual([0, 0]);
  });

  it("task pool - clear drops the tasks not started; the running ones finish and new ones start", async () => {
    const pool = new TaskPool(1);
    const started: number[] = [];
    const tasks = [0, 1, 2, 3].map((n) => gate(started, n));
    for (const t of tasks.slice(0, 3)) pool.add(t.task);
    await settle();
    pool.clear();
    expect([pool.running, pool.waiting]).toEqual([1, 0]);
    pool.add(tasks[3]!.task);
    tasks[0]!.end();
    await settle();
    expect(started).toEqual([0, 3]);
  });
});
