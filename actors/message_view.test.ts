import { describe, expect, it } from "vitest";
import { type JournalEntry, tombstoneOf } from "../storage/store.ts";
import { currentView, mentionsIn, messageState, viewTargets } from "./message_view.ts";

const e = (seq: number, over: Partial<JournalEntry> = {}): JournalEntry => ({ seq, clientId: `c${seq}`, sender: "ann", body: `m${seq}`, ts: seq, ...over });

describe("message view", () => {
  it("view - the latest edit wins and marks the message edited", () => {
    const page = [e(1), e(2, { kind: "edit", ref: 1, body: "v2" }), e(3, { kind: "edit", ref: 1, body: "v3" })];
    expect(currentView(page, page.slice(1))).toEqual([{ ...e(1), body: "v3", edited: true }, page[1], page[2]]);
  });

  it("view - a delete leaves a tombstone with its seq, and edits of it lose their text", () => {
    const page = [e(1), e(2, { kind: "edit", ref: 1, body: "secret" }), e(3, { kind: "delete", ref: 1, body: "" })];
    expect(currentView(page, page.slice(1))).toEqual([{ ...e(1), body: "", deleted: true }, { ...page[1], body: "" }, page[2]]);
  });

  it("view - reactions count each user once per emoji, and an unreact takes theirs back", () => {
    const refs = [
      e(2, { kind: "react", ref: 1, body: "👍" }),
      e(3, { kind: "react", ref: 1, body: "👍" }),
      e(4, { kind: "react", ref: 1, body: "👍", sender: "bob" }),
      e(5, { kind: "react", ref: 1, body: "🎉", sender: "bob" }),
      e(6, { kind: "unreact", ref: 1, body: "🎉", sender: "bob" }),
    ];
    expect(currentView([e(1)], refs)).toEqual([{ ...e(1), reactions: { "👍": 2 } }]);
    expect(messageState(e(1), refs).reactions.get("👍")).toEqual(new Set(["ann", "bob"]));
  });

  it("view - a thread's root counts its replies", () => {
    const refs = [e(2, { ref: 1 }), e(3, { ref: 1, sender: "bob" })];
    expect(currentView([e(1)], refs)).toEqual([{ ...e(1), replies: 2 }]);
  });

  it("view - an erased user's reaction counts no more, and their erased delete still deletes", () => {
    const refs = [e(2, { kind: "react", ref: 1, body: "👍" }), tombstoneOf(e(3, { kind: "react", ref: 1, body: "👍", sender: "zed" })), tombstoneOf(e(6, { kind: "delete", ref: 5, body: "", sender: "zed" }))];
    expect(currentView([e(1)], refs)).toEqual([{ ...e(1), reactions: { "👍": 1 } }]);
    expect(currentView([e(5)], refs)).toEqual([{ ...e(5), body: "", deleted: true }]);
  });

  it("view - an erased message keeps its seq and thread size, and shows no edit or reaction", () => {
    const gone = tombstoneOf(e(1, { sender: "zed" }));
    const refs = [tombstoneOf(e(2, { kind: "edit", ref: 1, body: "v2", sender: "zed" })), e(3, { kind: "react", ref: 1, body: "👍" }), e(4, { ref: 1 })];
    expect(currentView([gone], refs)).toEqual([{ ...gone, replies: 1 }]);
    expect(refs[0]).toMatchObject({ kind: "edit", ref: 1, sender: "", body: "" });
  });

  it("view - targets are the page's messages and what its edits change", () => {
    expect(viewTargets([e(4, { kind: "edit", ref: 1 }), e(5), e(6, { kind: "react", ref: 2 })]).sort()).toEqual([1, 5]);
  });

  it("view - mentions name members only, once each, never the sender", () => {
    const members = { ann: "owner", bob: "member", "c.d": "member" };
    expect(mentionsIn("hi @bob and @bob, @ann, @eve, thanks @c.d.", members, "ann")).toEqual(["bob", "c.d"]);
    expect(mentionsIn("mail me: x@bob", members, "ann")).toEqual([]);
  });
});
