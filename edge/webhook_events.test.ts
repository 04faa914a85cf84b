import { describe, expect, it } from "vitest";
import type { JournalEntry } from "../storage/store.ts";
import type { ChannelEvent } from "../storage/webhook_store.ts";
import { webhookItems } from "./webhook_events.ts";

const e = (seq: number, over: Partial<JournalEntry> = {}): JournalEntry => ({ seq, clientId: `c${seq}`, sender: "ann", body: `m${seq}`, ts: seq, ...over });
const ev = (n: number, afterSeq: number): ChannelEvent => ({ n, afterSeq, type: "membership", payload: { user: `u${n}`, joined: true }, at: 0 });

describe("webhook items", () => {
  it("items - an event goes after the seq it was saved at, and each item carries the position it reaches", () => {
    const items = webhookItems("g", { seq: 2, n: 7 }, [e(3), e(4, { kind: "edit", ref: 3, body: "v2" })], [ev(8, 3), ev(9, 4)]);
    expect(items.map((i) => [i.id, i.type, i.to])).toEqual([
      ["g:3", "message", { seq: 3, n: 7 }],
      ["g:3:e8", "membership", { seq: 3, n: 8 }],
      ["g:4", "edit", { seq: 4, n: 8 }],
      ["g:4:e9", "membership", { seq: 4, n: 9 }],
    ]);
  });

  it("items - an event placed past the last entry read waits for its entries", () => {
    expect(webhookItems("g", { seq: 2, n: 0 }, [e(3)], [ev(1, 3), ev(2, 5)]).map((i) => i.id)).toEqual(["g:3", "g:3:e1"]);
    expect(webhookItems("g", { seq: 5, n: 1 }, [], [ev(2, 5)]).map((i) => i.id)).toEqual(["g:5:e2"]);
  });

  it("items - reactions, deletes and replies say what they change; a tombstone says it was erased", () => {
    const items = webhookItems("g", { seq: 0, n: 0 }, [
      e(1, { ref: 0 }), e(2, { kind: "react", ref: 1, body: "👍" }), e(3, { kind: "unreact", ref: 1, body: "👍" }), e(4, { kind: "delete", ref: 1, body: "" }), e(5, { sender: "", body: "", clientId: "erased:x" }),
    ], []);
    expect(items.map((i) => [i.type, i.payload])).toEqual([
      ["message", { channel: "g", seq: 1, ts: 1, from: "ann", cid: "c1", body: "m1", parent: 0 }],
      ["reaction", { channel: "g", seq: 2, ts: 2, from: "ann", ref: 1, emoji: "👍", added: true }],
      ["reaction", { channel: "g", seq: 3, ts: 3, from: "ann", ref: 1, emoji: "👍", added: false }],
      ["delete", { channel: "g", seq: 4, ts: 4, from: "ann", ref: 1 }],
      ["message", { channel: "g", seq: 5, ts: 5, from: "", erased: true, cid: "", body: "" }],
    ]);
  });
});
