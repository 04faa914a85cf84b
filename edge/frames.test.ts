import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { JournalEntry } from "../storage/store.ts";
import { ackFrame, compactMsgsFrame, decodeCompactMsgs, msgsFrame, msgsFrameIn, replyFrame } from "./frames.ts";

/** Consecutive entries from `first`, with arbitrary commit times (clocks can step back). */
const batches = fc
  .record({
    first: fc.integer({ min: 1, max: 2 ** 40 }),
    rows: fc.array(
      fc.record({
        ts: fc.integer({ min: 0, max: 2 ** 45 }),
        sender: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/),
        clientId: fc.string({ minLength: 1, maxLength: 64 }),
        body: fc.string({ maxLength: 200, unit: "grapheme" }),
        change: fc.option(fc.record({ kind: fc.constantFrom<JournalEntry["kind"]>(undefined, "edit", "delete", "react", "unreact"), ref: fc.integer({ min: 1, max: 2 ** 40 }) }), { nil: undefined }),
      }),
      { minLength: 1, maxLength: 40 },
    ),
  })
  .map(({ first, rows }): JournalEntry[] =>
    rows.map(({ change, ...r }, i) => {
      const e: JournalEntry = { ...r, seq: first + i };
      if (change?.kind) e.kind = change.kind;
      if (change) e.ref = change.ref;
      return e;
    }));

describe("frames", () => {
  it("frames - the hand-built ack is the generic reply byte for byte, for any channel name", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.oneof(fc.stringMatching(/^(dm:)?[A-Za-z0-9][A-Za-z0-9_.:-]{0,40}$/), fc.string({ maxLength: 20, unit: "binary" })),
        fc.integer({ min: 1, max: 2 ** 50 }),
        fc.boolean(),
        (id, ch, seq, dup) => {
          expect(ackFrame(id, ch, seq, dup)).toBe(replyFrame("ack", id, { ch, seq, dup: dup || undefined }));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("frames - a compact msgs frame decodes to the same messages as the JSON one, without cid", () => {
    fc.assert(
      fc.property(batches, (entries) => {
        const full = JSON.parse(msgsFrame("general", entries)) as { m: Array<Record<string, unknown>> };
        const compact = JSON.parse(compactMsgsFrame("general", entries));
        expect(compact).toMatchObject({ t: "msgs", ch: "general", seq: entries[0]!.seq });
        expect(decodeCompactMsgs(compact)).toEqual(full.m.map(({ cid: _cid, ...rest }) => rest));
      }),
    );
  });

  it("frames - messages committed together cost no repeated seq, time, sender or keys in a compact frame", () => {
    const entries: JournalEntry[] = Array.from({ length: 60 }, (_, i) => ({
      seq: 123_456 + i,
      ts: 1_795_267_560_693,
      sender: "publisher-1",
      clientId: `run-7-${i}`,
      body: "x".repeat(100),
    }));
    const compact = compactMsgsFrame("general", entries);
    expect(compact).toContain(`"m":[[1795267560693,"publisher-1","${"x".repeat(100)}"],[0,"${"x".repeat(100)}"],[0,`);
    // 100-byte bodies: over 180 bytes per message as objects, under 110 as rows.
    expect(compact.length / entries.length).toBeLessThan(110);
    expect(msgsFrame("general", entries).length / entries.length).toBeGreaterThan(180);
    expect(msgsFrameIn("json", "general", entries)).toBe(msgsFrame("general", entries));
    expect(msgsFrameIn("compact", "general", entries)).toBe(compact);
  });
});
