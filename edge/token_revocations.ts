import { createHmac } from "node:crypto";
import type { ApiKeyStore } from "../storage/api_key_store.ts";

/**
 * Token revocations, kept in memory and refreshed from the store, so that verifying a token costs
 * no query: a revocation made on this node applies at once, one made on another node within
 * `refreshMs`. A token of the user issued (its `iat`, in seconds) at or before the revocation's
 * second is refused.
 */
export class TokenRevocations {
  #before = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly store: ApiKeyStore, private readonly hashKey: Uint8Array) {}

  /** Loads the revocations and refreshes them every `refreshMs`. */
  async start(refreshMs = 2_000): Promise<void> {
    await this.refresh();
    this.#timer = setInterval(() => void this.refresh().catch(() => {}), refreshMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async refresh(): Promise<void> {
    this.#before = new Map((await this.store.listRevocations()).map((r) => [r.subjectHash, r.before]));
  }

  /** Refuses the user's tokens issued before `before` (ms), on every node. */
  async revoke(user: string, before: number): Promise<number> {
    const hash = this.#hash(user);
    const effective = await this.store.revokeTokens(hash, before);
    this.#before.set(hash, effective);
    return effective;
  }

  isRevoked(user: string, issuedAtSeconds: number | undefined): boolean {
    // Every connect asks: with nothing revoked (the usual case) it costs no HMAC.
    if (this.#before.size === 0) return false;
    const before = this.#before.get(this.#hash(user));
    if (before === undefined) return false;
    return issuedAtSeconds === undefined || issuedAtSeconds * 1000 <= before;
  }

  #hash(user: string): string {
    return createHmac("sha256", this.hashKey).update(`revoked-user:${user}`).digest("hex");
  }
}
