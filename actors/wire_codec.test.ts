import { describe, expect, it } from "vitest";
import type { ChannelMsg, PublishAck } from "./messages.ts";
import { actorsWireCodec as codec } from "./wire_codec.ts";

const roundTrip = (v: unknown) => codec.decode(codec.encode(v));

describe("actors wire codec", () => {
  it("wire codec - a publish crosses as an array of its fields and comes back equal", () => {
    const pub: ChannelMsg = { type: "publish", user: "ann", clientId: "k-1", body: "hi \"there\"" };
    const wire = codec.encode(pub);
    expect(Array.isArray(wire)).toBe(true);
    expect(wire).not.toContain("publish");
    expect(roundTrip(pub)).toEqual(pub);
  });

  it("wire codec - an ack crosses as its seq, negated for a duplicate", () => {
    const fresh: PublishAck = { seq: 7, duplicate: false };
    const dup: PublishAck = { seq: 3, duplicate: true };
    expect(codec.encode(fresh)).toBe(7);
    expect(codec.encode(dup)).toBe(-3);
    expect(roundTrip(fresh)).toEqual(fresh);
    expect(roundTrip(dup)).toEqual(dup);
  });

  it("wire codec - anything it has no exact compact form for crosses as it is", () => {
    const others: unknown[] = [
      { type: "publish", user: "ann", clientId: "k", body: "b", extra: 1 },
      { seq: 1, duplicate: false, first: 1 },
      { seq: 0, duplicate: false },
      { seq: 1.5, duplicate: true },
      { type: "subscribe", user: "ann", edge: "edge:n1", after: 0, limit: 100 },
      { type: "msgs", ch: "g", m: [{ seq: 1, ts: 1, clientId: "k", sender: "ann", body: "b" }] },
      true, 7, "text", null, undefined, ["ann"],
    ];
    for (const v of others) expect(codec.encode(v), JSON.stringify(v)).toBeUndefined();
  });

  it("wire codec - a coded value of an unknown kind is refused by name", () => {
    expect(() => codec.decode([99, "x"])).toThrow(/Cannot decode a message from the thread hop: kind 99/);
  });
});
