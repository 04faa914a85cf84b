import { jwtVerify, SignJWT } from "jose";
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
 * HS256 JWT authentication (jose). The subject is the nickname; an optional `role` claim grants
 * admin routes. Tokens must carry `exp`; the issuer is checked so tokens of other apps are refused.
 */
export class Authenticator {
  readonly #key: Uint8Array;

  constructor(secret: Uint8Array, private readonly issuer = "storm") {
    if (secret.length < 32) throw new Error("JWT secret must be at least 32 bytes");
    this.#key = secret;
  }

  async issue(p: Omit<Principal, "exp">, ttlSeconds = 24 * 3600): Promise<string> {
    return new SignJWT({ role: p.role })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(p.user)
      .setIssuer(this.issuer)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(this.#key);
  }

  async verify(token: string | undefined | null): Promise<Principal> {
    if (!token) throw new AuthError("Missing token: send `Authorization: Bearer <jwt>` or `?token=`");
    try {
      const { payload } = await jwtVerify(token, this.#key, { issuer: this.issuer, algorithms: ["HS256"], requiredClaims: ["exp", "sub"] });
      const user = payload.sub!;
      if (!USER.test(user)) throw new AuthError(`Token subject "${user.slice(0, 40)}" is not a valid nickname`);
      return { user, role: payload["role"] === "admin" ? "admin" : "user", exp: payload.exp! * 1000 };
    } catch (err) {
      if (err instanceof AuthError) throw err;
      throw new AuthError(`Invalid token: ${(err as Error).message}`, { cause: err });
    }
  }
}
