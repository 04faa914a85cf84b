import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { AuthError, Authenticator } from "./auth.ts";

const SECRET = new Uint8Array(32).fill(7);
const auth = new Authenticator(SECRET);

/** Tokens signed by another library (jose), as an application's backend would mint them. */
function mint(claims: Record<string, unknown>, o: { secret?: Uint8Array; issuer?: string; exp?: number | null } = {}) {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setIssuer(o.issuer ?? "storm").setIssuedAt();
  if (o.exp !== null) jwt.setExpirationTime(o.exp ?? Math.floor(Date.now() / 1000) + 600);
  return jwt.sign(o.secret ?? SECRET);
}

function unsigned(payload: Record<string, unknown>): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${part({ alg: "none", typ: "JWT" })}.${part(payload)}.`;
}

describe("authenticator", () => {
  it("auth - a token minted elsewhere with the shared secret names its user, role and expiry in ms", async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    expect(await auth.verify(await mint({ sub: "ada", role: "admin" }, { exp }))).toEqual({ user: "ada", role: "admin", exp: exp * 1000 });
    expect((await auth.verify(await mint({ sub: "bob" }))).role).toBe("user");
  });

  it("auth - a token it issues verifies, with the lifetime asked for", async () => {
    const p = await auth.verify(await auth.issue({ user: "cy", role: "user" }, 60));
    expect(p.user).toBe("cy");
    expect(Math.abs(p.exp - (Date.now() + 60_000))).toBeLessThan(2_000);
  });

  it("auth - refuses another secret, another issuer, alg none, no exp, an expired token and a bad subject", async () => {
    const bad = [
      await mint({ sub: "ada" }, { secret: new Uint8Array(32).fill(8) }),
      await mint({ sub: "ada" }, { issuer: "other-app" }),
      unsigned({ sub: "ada", iss: "storm", exp: Math.floor(Date.now() / 1000) + 600 }),
      await mint({ sub: "ada" }, { exp: null }),
      await mint({ sub: "ada" }, { exp: Math.floor(Date.now() / 1000) - 10 }),
      await mint({ sub: "no spaces allowed" }),
      "not.a.jwt",
    ];
    for (const token of bad) await expect(auth.verify(token)).rejects.toBeInstanceOf(AuthError);
    await expect(auth.verify(undefined)).rejects.toThrow(/Missing token/);
  });

  it("auth - a secret shorter than 32 bytes is refused", () => {
    expect(() => new Authenticator(new Uint8Array(31))).toThrow(/at least 32 bytes/);
  });
});
