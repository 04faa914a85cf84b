import { describe, expect, it } from "vitest";
import { TurnEnd } from "./turn_end.ts";

function manual() {
  const scheduled: Array<() => void> = [];
  const turn = new TurnEnd((fn) => void scheduled.push(fn));
  const runNext = () => scheduled.shift()!();
  return { turn, scheduled, runNext };
}

describe("turn end", () => {
  it("turn end - early tasks run before late ones, each in the order queued, from one scheduled callback", () => {
    const { turn, scheduled, runNext } = manual();
    const ran: string[] = [];
    turn.late(() => void ran.push("write 1"));
    turn.early(() => void ran.push("post 1"));
    turn.late(() => void ran.push("write 2"));
    turn.early(() => void ran.push("post 2"));
    expect(scheduled).toHaveLength(1);
    runNext();
    expect(ran).toEqual(["post 1", "post 2", "write 1", "write 2"]);
  });

  it("turn end - work queued while the turn ends runs in the next turn", () => {
    const { turn, scheduled, runNext } = manual();
    const ran: string[] = [];
    turn.late(() => {
      ran.push("write");
      turn.early(() => void ran.push("post queued by the write"));
    });
    runNext();
    expect(ran).toEqual(["write"]);
    expect(scheduled).toHaveLength(1);
    runNext();
    expect(ran).toEqual(["write", "post queued by the write"]);
  });

  it("turn end - a task that throws does not stop the others; the error surfaces after", () => {
    const { turn, runNext } = manual();
    const ran: string[] = [];
    turn.early(() => {
      throw new Error("port closed");
    });
    turn.late(() => void ran.push("write"));
    expect(runNext).toThrow("port closed");
    expect(ran).toEqual(["write"]);
  });
});
