import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { ApiKeyStore } from "./api_key_store.ts";

/** The guarantees of `api_key_store.ts`, run inside `runStoreConformance` on the same store (internal). */
export function runApiKeyConformance(store: () => ApiKeyStore): void {
  describe("api keys", () => {
    const run = randomUUID().slice(0, 8);

    it("api keys - a key is found by its hash until it is revoked, and listed with its scopes either way", async () => {
      const s = store();
      const created = await s.createKey({ id: `k${run}`, name: "backend", scopes: ["publish", "broadcast"], hash: `h${run}` });
      expect(created).toMatchObject({ id: `k${run}`, scopes: ["publish", "broadcast"], revokedAt: null });
      expect(await s.findKey(`h${run}`)).toEqual({ id: `k${run}`, name: "backend", scopes: ["publish", "broadcast"] });
      expect(await s.revokeKey(`k${run}`)).toBe(true);
      expect(await s.revokeKey(`k${run}`)).toBe(false);
      expect(await s.findKey(`h${run}`)).toBeNull();
      const listed = (await s.listKeys()).find((k) => k.id === `k${run}`);
      expect(listed?.revokedAt).toBeGreaterThan(0);
    });

    it("api keys - a token revocation only moves forward", async () => {
      const s = store();
      expect(await s.revokeTokens(`s${run}`, 2_000)).toBe(2_000);
      expect(await s.revokeTokens(`s${run}`, 1_000)).toBe(2_000);
      expect((await s.listRevocations()).find((r) => r.subjectHash === `s${run}`)).toEqual({ subjectHash: `s${run}`, before: 2_000 });
    });
  });
}
