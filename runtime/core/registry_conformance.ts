import { describe, expect, it } from "vitest";
import type { Placement, Registry } from "./registry.ts";

export interface RegistryHarness {
  open(): Promise<Registry>;
  /** Lets at least `ms` pass for lease expiry (a fake clock advances; a real backend waits). */
  passTime(ms: number): Promise<void>;
  /** The smallest lease TTL the backend honours reliably. */
  leaseTtlMs: number;
}

const p = (node: string, worker = 0, epoch = 1): Placement => ({ node, worker, epoch });

/**
 * The registry contract (see `registry.ts`), run against every implementation: in-process now,
 * Hazelcast in cluster mode. Each case opens a fresh registry and uses ids unique to the case.
 */
export function runRegistryConformance(name: string, h: RegistryHarness): void {
  describe(`registry conformance: ${name}`, () => {
    const withRegistry = (fn: (r: Registry, id: string) => Promise<void>) => async () => {
      const r = await h.open();
      try {
        await fn(r, `channel:conf-${Math.random().toString(36).slice(2)}`);
      } finally {
        await r.close();
      }
    };

    it("registry - of concurrent claims on an absent id exactly one wins and all see it", withRegistry(async (r, id) => {
      const results = await Promise.all(["a", "b", "c", "d"].map((n) => r.claim(id, p(n))));
      const winner = results[0]!;
      for (const got of results) expect(got).toEqual(winner);
      expect(await r.lookup(id)).toEqual(winner);
    }));

    it("registry - a claim on a placed id returns the existing placement unchanged", withRegistry(async (r, id) => {
      await r.claim(id, p("a", 1, 3));
      expect(await r.claim(id, p("b", 0, 9))).toEqual(p("a", 1, 3));
    }));

    it("registry - replace succeeds only against the exact stored placement", withRegistry(async (r, id) => {
      await r.claim(id, p("a", 0, 1));
      expect(await r.replace(id, p("a", 0, 2), p("b", 0, 3))).toBe(false);
      expect(await r.replace(id, p("a", 0, 1), p("b", 0, 2))).toBe(true);
      expect(await r.lookup(id)).toEqual(p("b", 0, 2));
      expect(await r.replace(id, p("a", 0, 1), p("c", 0, 3))).toBe(false);
    }));

    it("registry - of concurrent takeovers from one placement exactly one succeeds", withRegistry(async (r, id) => {
      await r.claim(id, p("dead", 0, 1));
      const wins = await Promise.all(["x", "y", "z"].map((n, i) => r.replace(id, p("dead", 0, 1), p(n, 0, 2 + i))));
      expect(wins.filter(Boolean)).toHaveLength(1);
    }));

    it("registry - release removes only the exact stored placement", withRegistry(async (r, id) => {
      await r.claim(id, p("a"));
      expect(await r.release(id, p("b"))).toBe(false);
      expect(await r.lookup(id)).toEqual(p("a"));
      expect(await r.release(id, p("a"))).toBe(true);
      expect(await r.lookup(id)).toBeNull();
    }));

    it("registry - list filters by prefix and sorts by id", withRegistry(async (r, id) => {
      await r.claim(`${id}-b`, p("n"));
      await r.claim(`${id}-a`, p("n"));
      await r.claim(`session:${id}`, p("n"));
      const ids = (await r.list(id)).map((e) => e.id);
      expect(ids).toEqual([`${id}-a`, `${id}-b`]);
    }));

    it("registry - watchers hear of claims, takeovers and releases", withRegistry(async (r, id) => {
      const seen: Array<Placement | null> = [];
      let wake: () => void = () => {};
      const stop = await r.watch((got, placement) => {
        if (got !== id) return;
        seen.push(placement);
        wake();
      });
      const until = (n: number) => new Promise<void>((resolve) => {
        wake = () => seen.length >= n && resolve();
        wake();
      });
      await r.claim(id, p("a", 0, 1));
      await until(1);
      await r.replace(id, p("a", 0, 1), p("b", 1, 2));
      await until(2);
      await r.release(id, p("b", 1, 2));
      await until(3);
      await stop();
      expect(seen).toEqual([p("a", 0, 1), p("b", 1, 2), null]);
    }));

    it("registry - a watcher with quiet claims of a kind hears that kind's takeovers and releases, not its claims", withRegistry(async (r, id) => {
      const quiet = `session:${id}`;
      const loud = `channel:${id}`;
      const seen: Array<[string, Placement | null]> = [];
      let wake: () => void = () => {};
      const stop = await r.watch((got, placement) => {
        if (got !== quiet && got !== loud) return;
        seen.push([got, placement]);
        wake();
      }, { quietClaims: ["session"] });
      const until = (check: () => boolean) => new Promise<void>((resolve) => {
        wake = () => check() && resolve();
        wake();
      });
      const of = (which: string) => seen.filter(([got]) => got === which).map(([, pl]) => pl);
      await r.claim(quiet, p("a", 0, 1));
      await r.claim(loud, p("a", 0, 1));
      await until(() => of(loud).length >= 1);
      // Events of one entry arrive in order: a claim reported would come before the takeover.
      await r.replace(quiet, p("a", 0, 1), p("b", 0, 2));
      await r.release(quiet, p("b", 0, 2));
      await until(() => of(quiet).length >= 2);
      await stop();
      expect(of(quiet)).toEqual([p("b", 0, 2), null]);
      expect(of(loud)).toEqual([p("a", 0, 1)]);
    }));

    it("registry - a lease not renewed within its TTL disappears", withRegistry(async (r, id) => {
      const node = `node-${id}`;
      await r.renewLease({ node, address: "ws://127.0.0.1:1", renewedAt: 0, load: 0 }, h.leaseTtlMs);
      expect((await r.liveNodes()).map((l) => l.node)).toContain(node);
      await h.passTime(h.leaseTtlMs * 2);
      expect((await r.liveNodes()).map((l) => l.node)).not.toContain(node);
    }));

    it("registry - a renewed lease stays live and a dropped one goes at once", withRegistry(async (r, id) => {
      const node = `node-${id}`;
      const lease = { node, address: "ws://127.0.0.1:1", renewedAt: 0, load: 0 };
      await r.renewLease(lease, h.leaseTtlMs);
      await h.passTime(h.leaseTtlMs / 2);
      await r.renewLease(lease, h.leaseTtlMs);
      await h.passTime(h.leaseTtlMs / 2 + 1);
      expect((await r.liveNodes()).map((l) => l.node)).toContain(node);
      await r.dropLease(node);
      expect((await r.liveNodes()).map((l) => l.node)).not.toContain(node);
    }));
  });
}
