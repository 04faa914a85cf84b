import { createHmac, timingSafeEqual } from "node:crypto";

/** The header of every webhook delivery: `t=<ms>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const SIGNATURE_HEADER = "storm-signature";

/**
 * The signature of one delivery, as a receiver recomputes it: HMAC-SHA256 keyed by the endpoint's
 * secret over the timestamp (ms, as sent), a dot, and the raw body bytes as received.
 *
 * @example
 * const header = signWebhook("whsec_...", Date.now(), '{"id":"general:12"}');
 * verifyWebhook("whsec_...", header, '{"id":"general:12"}', 300_000, Date.now()); // true
 */
export function signWebhook(secret: string, timestampMs: number, body: string): string {
  return `t=${timestampMs},v1=${mac(secret, timestampMs, body)}`;
}

/** True when `header` signs `body` with `secret` and its timestamp is within `toleranceMs` of `now` (replays are refused). */
export function verifyWebhook(secret: string, header: string, body: string, toleranceMs: number, now: number): boolean {
  const parts = new Map(header.split(",").map((p) => p.split("=", 2) as [string, string]));
  const t = Number(parts.get("t"));
  const v1 = parts.get("v1");
  if (!Number.isSafeInteger(t) || v1 === undefined || Math.abs(now - t) > toleranceMs) return false;
  const want = Buffer.from(mac(secret, t, body), "hex");
  const got = Buffer.from(v1, "hex");
  return got.length === want.length && timingSafeEqual(got, want);
}

function mac(secret: string, t: number, body: string): string {
  return createHmac("sha256", secret).update(`${t}.${body}`).digest("hex");
}
