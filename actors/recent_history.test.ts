import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { JournalEntry } from "../storage/store.ts";
import { RecentHistory } from "./recent_history.ts";

/** The plain-array history the ring replaces: same answers, by definition. */
class Model {
  entries: JournalEntry[] = [];
  ids = new Map<string, number>();
  constructor(readonly capacity: number, readonly idWindow: number) {}
  remember(id: string, seq: number) {
    this.ids.set(id, seq);
    while (this.ids.size > this.idWindow) this.ids.delete(this.ids.keys().next().value!);
  }
  push(es: JournalEntry[]) {
    for (const e of es) {
      this.entries.push(e);
      this.remember(e.clientId, e.seq);
    }
    this.entries = this.entries.slice(Math.max(0, this.entries.length - this.capacity));
  }
}

const entry = (seq: number, cid: string): JournalEntry => ({ seq, clientId: cid, sender: "a", body: String(seq), ts: 0 });

describe("recent history", () => {
  it("history - the ring answers every query as a plain array of the last entries would", () => {
    const op = fc.oneof(
      fc.record({ push: fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 6 }) }),
      fc.record({ remember: fc.integer({ min: 0, max: 30 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 9 }), fc.array(op, { maxLength: 40 }), (capacity, idWindow, ops) => {
        const ring = new RecentHistory(capacity, idWindow);
        const model = new Model(capacity, idWindow);
        let last = 0;
        for (const o of ops) {
          if ("push" in o) {
            const es = o.push.map((c) => entry(++last, `c${c}`));
            ring.push(es);
            model.push(es);
          } else {
            ring.rememberId(`c${o.remember}`, 1_000 + o.remember);
            model.remember(`c${o.remember}`, 1_000 + o.remember);
          }
          const first = model.entries[0]?.seq ?? last + 1;
          expect(ring.firstSeq(last)).toBe(first);
          expect(ring.size).toBe(model.entries.length);
          for (let c = 0; c <= 30; c++) expect(ring.seqOf(`c${c}`)).toBe(model.ids.get(`c${c}`));
          for (let a = first - 1; a <= last; a++) {
            for (const limit of [1, 3, 100]) {
              expect(ring.after(a, limit)).toEqual(model.entries.filter((e) => e.seq > a).slice(0, limit));
              const below = model.entries.filter((e) => e.seq < a + 1);
              expect(ring.before(a + 1, limit)).toEqual(below.slice(Math.max(0, below.length - limit)));
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("recent history - retention and erasure", () => {
  const filled = () => {
    const h = new RecentHistory(4, 10);
    h.push([1, 2, 3, 4, 5, 6].map((s) => entry(s, `c${s}`)));
    return h;
  };

  it("history - dropThrough forgets a trimmed prefix and keeps taking new entries in order", () => {
    const h = filled();
    h.dropThrough(4);
    expect(h.firstSeq(6)).toBe(5);
    expect(h.after(0, 10).map((e) => e.seq)).toEqual([5, 6]);
    h.push([entry(7, "c7"), entry(8, "c8"), entry(9, "c9")]);
    expect(h.after(0, 10).map((e) => e.seq)).toEqual([6, 7, 8, 9]);
    expect(h.seqOf("c2")).toBe(2);
  });

  it("history - eraseSender replaces only that sender's held entries by tombstones", () => {
    const h = new RecentHistory(4, 10);
    h.push([entry(1, "a1"), { ...entry(2, "z2"), sender: "zed", body: "secret" }, entry(3, "a3")]);
    expect(h.eraseSender("zed")).toBe(1);
    const held = h.after(0, 10);
    expect(held[1]).toMatchObject({ seq: 2, sender: "", body: "" });
    expect(held[0]).toEqual(entry(1, "a1"));
    expect(held[2]).toEqual(entry(3, "a3"));
  });
});
