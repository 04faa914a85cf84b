import { describe, expect, it } from "vitest";
import type { Message } from "../../client/index.ts";
import { ChatStore } from "./chat_store.ts";

const msg = (seq: number, from: string, body: string, extra: Partial<Message> = {}): Message => ({ seq, ts: seq, from, cid: `c${seq}`, body, ...extra });

function store(): ChatStore {
  const s = new ChatStore();
  s.me = "bob";
  s.add("g");
  return s;
}

describe("web - chat store", () => {
  it("applies live edits, deletes and reactions once each, and not the changes a history page already reflects", () => {
    const s = store();
    s.addMessages("g", [msg(1, "ann", "draft", { edited: true }), msg(2, "ann", "x"), msg(3, "ann", "draft", { kind: "edit", ref: 1 })], false);
    s.addMessages("g", [msg(4, "ann", "final", { kind: "edit", ref: 1 }), msg(5, "ann", "", { kind: "delete", ref: 2 })], true);
    const react = msg(6, "bob", "👍", { kind: "react", ref: 1 });
    s.addMessages("g", [react, msg(7, "cat", "👍", { kind: "react", ref: 1 }), msg(8, "bob", "👍", { kind: "react", ref: 1 })], true);
    s.addMessages("g", [react], true);
    const view = s.channels.get("g")!.messages;
    expect(view.map((m) => [m.seq, m.body, m.edited ?? false, m.deleted ?? false, m.reactions])).toEqual([
      [1, "final", true, false, { "👍": 2 }],
      [2, "", false, true, {}],
    ]);
    s.addMessages("g", [msg(9, "cat", "👍", { kind: "unreact", ref: 1 })], true);
    expect(s.channels.get("g")!.messages[0]!.reactions).toEqual({ "👍": 1 });
  });

  it("shows the server's counts until the loaded messages reach the read marker, and never once the marker moved", () => {
    const s = store();
    s.setRead("g", 10);
    s.setCounts("g", 70, 1);
    expect([s.unread("g"), s.mentions("g")]).toEqual([70, 1]);
    const c = s.channels.get("g")!;
    // A first page of 3 that does not reach back to seq 11: the server knows better.
    s.addMessages("g", [msg(78, "ann", "a"), msg(79, "ann", "hi @bob"), msg(80, "ann", "c")], false);
    c.fetched = true;
    c.more = true;
    expect([s.unread("g"), s.mentions("g")]).toEqual([70, 1]);
    // Read up to 80: the loaded messages count (none left).
    s.setRead("g", 80);
    expect([s.unread("g"), s.mentions("g")]).toEqual([0, 0]);
    s.addMessages("g", [msg(81, "ann", "hey @bob."), msg(82, "bob", "mine @bob"), msg(83, "ann", "x@bob")], true);
    expect([s.unread("g"), s.mentions("g")]).toEqual([2, 1]);
  });
});
