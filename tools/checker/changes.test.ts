import { describe, expect, test } from "vitest";
import { checkHistory } from "./check.ts";
import type { HistoryEvent, PubEvent } from "./history.ts";
import { parseHistoryEvent } from "./history.ts";
import type { JournalRow } from "./journal.ts";
import { parseJournal } from "./journal.ts";

// Channel "g": c1 publishes m1 and m2 (seqs 1, 2), then changes them.
const ch = "g";
const msg = (seq: number, cid: string): JournalRow => ({ ch, seq, cid, body: `body-${cid}` });
const change = (seq: number, cid: string, kind: string, ref: number, body = ""): JournalRow => ({ ch, seq, cid, body, kind, ref });
const pubOf = (r: JournalRow): PubEvent => ({ k: "pub", client: "c1", ch, cid: r.cid, body: r.body, ...(r.kind ? { kind: r.kind } : {}), ...(r.ref ? { ref: r.ref } : {}) });

function run(rows: JournalRow[], extra: HistoryEvent[] = []) {
  const events: HistoryEvent[] = [];
  for (const r of rows) events.push(pubOf(r), { k: "ack", client: "c1", ch, cid: r.cid, seq: r.seq });
  events.push({ k: "resume", client: "c2", ch, after: 0, conn: 1 });
  for (const r of rows) events.push({ k: "deliver", client: "c2", ch, seq: r.seq, cid: r.cid, body: r.body, conn: 1, ...(r.kind ? { kind: r.kind } : {}), ...(r.ref ? { ref: r.ref } : {}) });
  return checkHistory([...events, ...extra], { rows, epochs: [] }).violations;
}

describe("checker - edits, deletes and reactions", () => {
  test("checker - changes of earlier messages, in order, have no violation", () => {
    expect(run([msg(1, "m1"), msg(2, "m2"), change(3, "e1", "edit", 1, "v2"), change(4, "r1", "react", 2, "👍"), change(5, "d1", "delete", 1)])).toEqual([]);
  });

  test("checker - an edit of a seq that does not exist, of a change, or of a deleted message is a violation", () => {
    const missing = run([msg(1, "m1"), change(2, "e1", "edit", 7, "x")]);
    expect(missing.map((v) => v.kind)).toContain("change_of_missing");
    const ofChange = run([msg(1, "m1"), change(2, "e1", "edit", 1, "x"), change(3, "e2", "edit", 2, "y")]);
    expect(ofChange.map((v) => v.message)).toEqual(["seq 3 (edit) changes seq 2, which is a edit"]);
    const afterDelete = run([msg(1, "m1"), change(2, "d1", "delete", 1), change(3, "e1", "edit", 1, "late")]);
    expect(afterDelete.map((v) => v.kind)).toEqual(["change_of_missing"]);
  });

  test("checker - an acknowledged edit missing from the journal is a lost edit (ack_missing)", () => {
    const rows = [msg(1, "m1")];
    const lost: HistoryEvent[] = [pubOf(change(2, "e1", "edit", 1, "v2")), { k: "ack", client: "c1", ch, cid: "e1", seq: 2 }];
    expect(run(rows, lost).map((v) => v.kind)).toContain("ack_missing");
  });

  test("checker - an entry delivered with another kind or ref than the journal's is a content mismatch", () => {
    const rows = [msg(1, "m1"), msg(2, "m2"), change(3, "e1", "edit", 1, "v2")];
    const wrong: HistoryEvent = { k: "deliver", client: "c3", ch, seq: 3, cid: "e1", body: "v2", kind: "edit", ref: 2, conn: 1 };
    expect(run(rows, [{ k: "resume", client: "c3", ch, after: 2, conn: 1 }, wrong]).map((v) => v.kind)).toEqual(["content_mismatch"]);
  });

  test("checker - kind and ref are read from histories and from a psql dump (kind msg and null ref are a message)", () => {
    expect(parseHistoryEvent({ k: "pub", client: "c", ch, cid: "e", body: "x", kind: "edit", ref: 4 })).toMatchObject({ kind: "edit", ref: 4 });
    const dump = `{"actor_id":"channel:g","seq":1,"client_id":"a","sender":"s","body":"hi","ts":1,"epoch":1,"kind":"msg","ref":null}\n` +
      `{"actor_id":"channel:g","seq":2,"client_id":"b","sender":"s","body":"","ts":2,"epoch":1,"kind":"delete","ref":1}`;
    const j = parseJournal(dump, "d");
    expect(j.rows.map((r) => [r.kind, r.ref])).toEqual([[undefined, undefined], ["delete", 1]]);
  });
});
