import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IdWindow } from "./id_window.ts";

/** The window as the `Map` it replaces: insertion order, a known id keeps its place, the oldest goes first. */
class Model {
  ids = new Map<string, number>();
  constructor(readonly capacity: number) {}
  set(id: string, seq: number) {
    if (this.capacity <= 0) return;
    if (!this.ids.has(id) && this.ids.size === this.capacity) this.ids.delete(this.ids.keys().next().value!);
    this.ids.set(id, seq);
  }
}

describe("id window", () => {
  it("id window - answers every lookup as an insertion-ordered map of the last ids would", () => {
    const op = fc.record({ id: fc.integer({ min: 0, max: 300 }), seq: fc.integer({ min: 1, max: 1e9 }) });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 80 }), fc.array(op, { maxLength: 400 }), (capacity, ops) => {
        const w = new IdWindow(capacity);
        const model = new Model(capacity);
        for (const [k, o] of ops.entries()) {
          w.set(`client-${o.id}`, o.seq);
          model.set(`client-${o.id}`, o.seq);
          if (k % 25 !== 24 && k !== ops.length - 1) continue;
          expect(w.size).toBe(model.ids.size);
          for (let id = 0; id <= 300; id++) expect(w.get(`client-${id}`)).toBe(model.ids.get(`client-${id}`));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("id window - keeps exact answers through a full window's churn, many times over", () => {
    // 20,000 ids held (the channel default) and 100,000 set: every slot of the ring is replaced
    // five times, and deletions shift entries back across the whole index.
    const w = new IdWindow(20_000);
    for (let i = 0; i < 100_000; i++) w.set(`run-7-${i}`, i + 1);
    expect(w.size).toBe(20_000);
    for (let i = 0; i < 80_000; i += 7) expect(w.get(`run-7-${i}`)).toBeUndefined();
    for (let i = 80_000; i < 100_000; i++) expect(w.get(`run-7-${i}`)).toBe(i + 1);
    w.set("run-7-80000", 5); // known: updated in place, still the oldest
    w.set("new", 100_001);
    expect(w.get("run-7-80000")).toBeUndefined();
    expect(w.get("run-7-80001")).toBe(80_002);
    expect(w.get("new")).toBe(100_001);
  });

  it("id window - a zero window holds nothing", () => {
    const w = new IdWindow(0);
    w.set("a", 1);
    expect(w.size).toBe(0);
    expect(w.get("a")).toBeUndefined();
  });
});
