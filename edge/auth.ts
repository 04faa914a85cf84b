import { createSigner, createVerifier } from "fast-jwt";
import { StormError } from "../runtime/core/errors.ts";

export interface Principal {
  user: string;
  role: "user" | "admin";
  /** When the token expires, in ms since the epoch: an open connection ends then unless re-authenticated. */
  exp: number;
}

/** Invalid, expired or missing credentials; maps to `unauthenticated`. */
export class AuthError extends StormError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("unauthenticated", message, options);
  }
}

const USER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;

/**
 * HS256 JWT authentication (fast-jwt). The subject is the nickname; an optional `role` claim grants
 * admin routes. Tokens must carry `exp`; the issuer is checked so tokens of other apps are refused.
 *
 * Verification is synchronous over `node:crypto`'s HMAC with the key prepared once: jose's
 * WebCrypto path cost 100-200 µs per token (an async job and a key import each time), more than a
 * raw `ws` server spends on a whole connection, and a reconnect storm authenticates every socket.
 */
export class Authenticator {
  readonly #sign: (payload: Record<string, unknown>) => string;
  readonly #verify: (token: string) => Record<string, unknown>;

  /**
   * @param revoked tokens for which it returns true are refused (`TokenRevocations`: tokens of a
   *   user issued before the server API revoked them; `iat` in seconds).
   */
  constructor(
    secret: Uint8Array,
    issuer = "storm",
    private readonly revoked: (user: string, issuedAtSeconds: number | undefined) => boolean = () => false,
  ) {
    if (secret.length < 32) throw new Error("JWT secret must be at least 32 bytes");
    const key = Buffer.from(secret);
    this.#sign = createSigner({ key, algorithm: "HS256", iss: issuer });
    this.#verify = createVerifier({ key, algorithms: ["HS256"], allowedIss: issuer, requiredClaims: ["exp", "sub"] });
  }

  async issue(p: Omit<Principal, "exp">, ttlSeconds = 24 * 3600): Promise<string> {
    return this.#sign({ role: p.role, sub: p.user, exp: Math.floor(Date.now() / 1000) + ttlSeconds });
  }

  async verify(token: string | undefined | null): Promise<Principal> {
    if (!token) throw new AuthError("Missing token: send `Authorization: Bearer <jwt>` or `?token=`");
    let payload: Record<string, unknown>;
    try {
      payload = this.#verify(token);
    } catch (err) {
      throw new AuthError(`Invalid token: ${(err as Error).message}`, { cause: err });
    }
    const user = payload["sub"];
    if (typeof user !== "string" || !USER.test(user)) throw new AuthError(`Token subject "${String(user).slice(0, 40)}" is not a valid nickname`);
    const exp = payload["exp"];
    if (typeof exp !== "number") throw new AuthError("Invalid token: `exp` must be a number of seconds");
    const iat = payload["iat"];
    if (this.revoked(user, typeof iat === "number" ? iat : undefined)) {
      throw new AuthError(`Token revoked: tokens of "${user}" issued before the revocation are refused; get a new one`);
    }
    return { user, role: payload["role"] === "admin" ? "admin" : "user", exp: exp * 1000 };
  }
}
