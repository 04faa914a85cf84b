import { describe, expect, test } from "vitest";
import { JournalParseError } from "./errors.ts";
import { formatJournal, parseJournal } from "./journal.ts";

describe("journal", () => {
  test("journal - rows and epoch records in the checker's own names are read", () => {
    const text = `{"ch":"g","seq":1,"cid":"a","body":"hi","sender":"alice","ts":10,"epoch":1}\n{"actor":"channel:g","epoch":2,"fencedAt":20}`;
    expect(parseJournal(text, "j.jsonl")).toEqual({
      rows: [{ ch: "g", seq: 1, cid: "a", body: "hi", sender: "alice", ts: 10, epoch: 1, at: "j.jsonl:1" }],
      epochs: [{ ch: "g", epoch: 2, fencedAt: 20, at: "j.jsonl:2" }],
    });
  });

  test("journal - a psql dump of the journal and actor_epochs tables is a journal file", () => {
    const text = [
      `{"actor_id":"channel:g","seq":1,"client_id":"a","sender":"alice","body":"hi","ts":1718000000000,"epoch":1}`,
      `{"actor_id":"channel:g","epoch":2,"owner":"n2","updated_at":"2024-06-10T06:13:20.123456+00:00"}`,
      `{"actor_id":"session:alice","epoch":1,"owner":"n1","updated_at":"2024-06-10T06:13:20+00:00"}`,
    ].join("\n");
    expect(parseJournal(text, "dump.jsonl")).toEqual({
      rows: [{ ch: "g", seq: 1, cid: "a", body: "hi", sender: "alice", ts: 1718000000000, epoch: 1, at: "dump.jsonl:1" }],
      epochs: [{ ch: "g", epoch: 2, fencedAt: Date.parse("2024-06-10T06:13:20.123Z"), at: "dump.jsonl:2" }],
    });
  });

  test("journal - a written journal reads back the same", () => {
    const journal = { rows: [{ ch: "g", seq: 1, cid: "a", body: "hi", epoch: 3 }], epochs: [{ ch: "g", epoch: 3, fencedAt: 5 }] };
    const back = parseJournal(formatJournal({ ...journal, rows: [{ ...journal.rows[0]!, at: "x:1" }] }), "j");
    expect(back).toEqual({ rows: [{ ...journal.rows[0], at: "j:1" }], epochs: [{ ...journal.epochs[0], at: "j:2" }] });
  });

  test("journal - a line without a channel is a typed error naming the line", () => {
    expect(() => parseJournal(`\n{"seq":1,"cid":"a","body":"x"}`, "j.jsonl")).toThrow(JournalParseError);
    expect(() => parseJournal(`\n{"seq":1,"cid":"a","body":"x"}`, "j.jsonl")).toThrow(/^Cannot parse journal line 2 of j.jsonl: a line needs "ch"/);
  });
});
