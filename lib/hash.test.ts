import { describe, expect, it } from "vitest";
import { fnv1a, fnv1aMixed } from "./hash.ts";

describe("hash", () => {
  it("hash - fnv1a gives the published FNV-1a 32-bit values (placement depends on every node agreeing)", () => {
    expect(fnv1a("")).toBe(0x811c9dc5);
    expect(fnv1a("a")).toBe(0xe40c292c);
    expect(fnv1a("foobar")).toBe(0xbf9cf968);
  });

  it("hash - the mixed hash keeps the values rendezvous placement had before it moved here (nodes of two versions must agree)", () => {
    // Computed with the former runtime/cluster/rendezvous.ts implementation.
    expect(fnv1aMixed("")).toBe(1572119809);
    expect(fnv1aMixed("a")).toBe(1469464775);
    expect(fnv1aMixed("node-1\u0000channel:general")).toBe(1168706702);
    expect(fnv1aMixed("run-7-123456")).toBe(1502145672);
  });
});
