import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { RejectedError } from "../runtime/core/errors.ts";
import type { ApiKeyStore } from "../storage/api_key_store.ts";
import { AuthError } from "./auth.ts";

/** What a key may do. `admin` includes the others. */
export const SCOPES = ["publish", "broadcast", "webhooks", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKeyPrincipal {
  id: string;
  name: string;
  scopes: Scope[];
}

/** A new key: its text (shown once) and what is stored (its SHA-256). 32 random bytes, `sk_` + base64url. */
export function newApiKey(): { id: string; key: string; hash: string } {
  const key = `sk_${randomBytes(32).toString("base64url")}`;
  return { id: `key_${randomBytes(6).toString("hex")}`, key, hash: hashApiKey(key) };
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** How long a looked-up key is trusted before the store is asked again (a revocation elsewhere takes at most this). */
const CACHE_MS = 5_000;

/**
 * Authenticates server API calls by key: `Authorization: Bearer sk_...` or `X-Api-Key: sk_...`.
 * Keys are looked up by hash and cached briefly; a key revoked on this node is forgotten at once.
 */
export class ApiKeyAuth {
  readonly #cache = new Map<string, { principal: ApiKeyPrincipal | null; at: number }>();

  constructor(private readonly store: ApiKeyStore, private readonly now: () => number = Date.now) {}

  /** The key's principal, if it has `scope` (or `admin`); else `unauthenticated` or `forbidden`. */
  async require(req: IncomingMessage, scope: Scope): Promise<ApiKeyPrincipal> {
    const key = keyOf(req);
    if (!key) throw new AuthError("Missing API key: send `Authorization: Bearer sk_...` or `X-Api-Key: sk_...`");
    const hash = hashApiKey(key);
    let hit = this.#cache.get(hash);
    if (!hit || this.now() - hit.at > CACHE_MS) {
      const found = await this.store.findKey(hash);
      hit = { principal: found && { ...found, scopes: found.scopes.filter(isScope) }, at: this.now() };
      if (this.#cache.size > 10_000) this.#cache.clear();
      this.#cache.set(hash, hit);
    }
    if (!hit.principal) throw new AuthError("Invalid or revoked API key");
    if (!hit.principal.scopes.includes(scope) && !hit.principal.scopes.includes("admin")) {
      throw new RejectedError("forbidden", `API key ${hit.principal.id} lacks the "${scope}" scope`);
    }
    return hit.principal;
  }

  /** Forgets cached lookups (after a revocation on this node). */
  forget(): void {
    this.#cache.clear();
  }
}

function keyOf(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (h?.startsWith("Bearer sk_")) return h.slice(7);
  const x = req.headers["x-api-key"];
  return typeof x === "string" && x.startsWith("sk_") ? x : undefined;
}

export function isScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s);
}
