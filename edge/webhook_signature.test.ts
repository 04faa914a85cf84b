import { describe, expect, it } from "vitest";
import { signWebhook, verifyWebhook } from "./webhook_signature.ts";

describe("webhook signature", () => {
  const body = '{"id":"general:12","type":"message"}';

  it("signature - a receiver with the secret verifies the body as sent", () => {
    expect(verifyWebhook("s3cret", signWebhook("s3cret", 1_000, body), body, 60_000, 2_000)).toBe(true);
  });

  it("signature - another secret, an altered body or an old timestamp is refused", () => {
    const header = signWebhook("s3cret", 1_000, body);
    expect(verifyWebhook("other", header, body, 60_000, 2_000)).toBe(false);
    expect(verifyWebhook("s3cret", header, body.replace("12", "13"), 60_000, 2_000)).toBe(false);
    expect(verifyWebhook("s3cret", header, body, 60_000, 1_000 + 60_001)).toBe(false);
    expect(verifyWebhook("s3cret", "t=1000", body, 60_000, 2_000)).toBe(false);
  });
});
