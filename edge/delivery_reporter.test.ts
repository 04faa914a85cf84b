import { describe, expect, it } from "vitest";
import { FakeClock } from "../runtime/core/clock.ts";
import { DeliveryReporter } from "./delivery_reporter.ts";

function setup(sockets: Array<{ buffered: number }>) {
  const clock = new FakeClock();
  const deferred: Array<() => void> = [];
  const reports: Array<[string, number]> = [];
  const r = new DeliveryReporter({
    clock,
    later: (fn) => void deferred.push(fn),
    socketsOn: () => sockets,
    report: (ch, seq) => void reports.push([ch, seq]),
    highWater: 100,
    lowWater: 10,
    maxWaitMs: 1_000,
    retryMs: 2,
    minIntervalMs: 20,
  });
  /** Runs the deferred callbacks in order, and those they defer: every write of the turn. */
  const endTurn = () => {
    while (deferred.length > 0) deferred.shift()!();
  };
  return { clock, r, reports, endTurn, deferred };
}

describe("delivery reporter", () => {
  it("delivery - sockets backing up one after another cannot hold a report past the wait bound", () => {
    const a = { buffered: 500 };
    const b = { buffered: 0 };
    const { clock, r, reports, endTurn } = setup([a, b]);
    r.handed("g", 1);
    endTurn();
    clock.advance(800);
    b.buffered = 500; // b backs up just as a is about to be given up on
    clock.advance(150);
    expect(reports).toEqual([]);
    clock.advance(100);
    expect(reports).toEqual([["g", 1]]);
  });

  it("delivery - a channel is told at the end of the turn how far its batches were handed out", () => {
    const { r, reports, endTurn } = setup([{ buffered: 0 }]);
    r.handed("g", 3);
    r.handed("g", 5);
    r.handed("h", 1);
    expect(reports).toEqual([]);
    endTurn();
    expect(reports).toEqual([["g", 5], ["h", 1]]);
  });

  it("delivery - reports go out at most once per interval, each with the latest seq", () => {
    const { clock, r, reports, endTurn } = setup([{ buffered: 0 }]);
    r.handed("g", 1);
    endTurn();
    clock.advance(5);
    r.handed("g", 2);
    endTurn();
    clock.advance(5);
    r.handed("g", 3);
    endTurn();
    expect(reports).toEqual([["g", 1]]);
    clock.advance(10);
    expect(reports).toEqual([["g", 1]]); // due now: it goes after the socket writes of this turn
    endTurn();
    expect(reports).toEqual([["g", 1], ["g", 3]]);
  });

  it("delivery - a report names only batches whose socket writes ran before it, however late they are queued", () => {
    const { r, reports, endTurn, deferred } = setup([{ buffered: 0 }]);
    const reportsAtWrite: number[] = [];
    r.handed("g", 1); // its writes ran in an earlier chunk; the report's first step is queued
    deferred.push(() => void reportsAtWrite.push(reports.length)); // batch 2's writes: a later chunk
    r.handed("g", 2);
    endTurn();
    expect(reportsAtWrite).toEqual([0]); // nothing was reported before batch 2 was written
    expect(reports).toEqual([["g", 2]]);
  });

  it("delivery - a backed-up socket holds its channel's report until it drains below low water", () => {
    const s = { buffered: 500 };
    const { clock, r, reports, endTurn } = setup([{ buffered: 0 }, s]);
    r.handed("g", 7);
    endTurn();
    expect(reports).toEqual([]);
    s.buffered = 50; // below high water, but not yet drained
    clock.advance(10);
    expect(reports).toEqual([]);
    s.buffered = 5;
    clock.advance(2);
    expect(reports).toEqual([["g", 7]]);
  });

  it("delivery - a socket backed up for too long no longer holds its channel back", () => {
    const { clock, r, reports, endTurn } = setup([{ buffered: 500 }]);
    r.handed("g", 1);
    endTurn();
    clock.advance(999);
    expect(reports).toEqual([]);
    clock.advance(5);
    expect(reports).toEqual([["g", 1]]);
    // Still backed up: from now on it is left to the slow-consumer bound, and not waited for.
    r.handed("g", 2);
    clock.advance(20);
    endTurn();
    expect(reports).toEqual([["g", 1], ["g", 2]]);
  });
});
