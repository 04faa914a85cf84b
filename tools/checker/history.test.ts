import { describe, expect, test } from "vitest";
import { HistoryParseError } from "./errors.ts";
import { parseHistory } from "./history.ts";

describe("history", () => {
  test("history - each line becomes an event with its known fields and where it was read", () => {
    const text = [
      `{"k":"pub","client":"c1","ch":"g","cid":"a","body":"hi","t":5,"extra":true}`,
      "",
      `{"k":"ack","client":"c1","ch":"g","cid":"a","seq":7,"dup":true}`,
      `{"k":"deliver","client":"c2","ch":"g","seq":7,"cid":"a","body":"hi","from":"alice","conn":"x"}`,
      `{"k":"resume","client":"c2","ch":"g","after":6,"conn":1}`,
      `{"k":"truncated","client":"c2","ch":"g","first":3,"conn":1}`,
      `{"k":"err","client":"c1","ch":"g","cid":"b","code":"timeout"}`,
    ].join("\n");
    expect(parseHistory(text, "c1.jsonl")).toEqual([
      { k: "pub", client: "c1", ch: "g", cid: "a", body: "hi", t: 5, at: "c1.jsonl:1" },
      { k: "ack", client: "c1", ch: "g", cid: "a", seq: 7, dup: true, at: "c1.jsonl:3" },
      { k: "deliver", client: "c2", ch: "g", seq: 7, cid: "a", body: "hi", from: "alice", conn: "x", at: "c1.jsonl:4" },
      { k: "resume", client: "c2", ch: "g", after: 6, conn: 1, at: "c1.jsonl:5" },
      { k: "truncated", client: "c2", ch: "g", first: 3, conn: 1, at: "c1.jsonl:6" },
      { k: "err", client: "c1", ch: "g", cid: "b", code: "timeout", at: "c1.jsonl:7" },
    ]);
  });

  test("history - a bad field is reported with its line and file", () => {
    const text = `{"k":"pub","client":"c1","ch":"g","cid":"a","body":"x"}\n{"k":"ack","client":"c1","ch":"g","cid":"a","seq":"7"}`;
    expect(() => parseHistory(text, "f.jsonl")).toThrow(new HistoryParseError('Cannot parse history line 2 of f.jsonl: "seq" must be an integer >= 1, got "7"'));
  });

  test("history - invalid JSON and unknown kinds are typed errors", () => {
    expect(() => parseHistory("{", "f.jsonl")).toThrow(/^Cannot parse history line 1 of f.jsonl: /);
    expect(() => parseHistory(`{"k":"sub","client":"c","ch":"g"}`, "f.jsonl")).toThrow(/"k" must be pub, ack, err, deliver, resume or truncated, got "sub"/);
    expect(() => parseHistory(`[1]`, "f.jsonl")).toThrow(HistoryParseError);
  });
});
