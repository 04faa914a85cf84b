import { describe, expect, it } from "vitest";
import { copyField, copyRows, textArray } from "./copy_append.ts";
import { StoreCommitUnknownError } from "./errors.ts";
import { appendGroup } from "./journal_append.ts";
import type { AppendRequest } from "./store.ts";
import type { SqlRow } from "./sql_client.ts";
import { SQL } from "./statements.ts";

const req = (actorId: string, first: number, body = "hi"): AppendRequest => ({
  actorId, epoch: 3, entries: [{ seq: first, clientId: `c-${first}`, sender: "ann", body, ts: 1_700_000_000_000 }],
});

/** A group client: records what ran, answers every fast statement's append ok, and COPYs as told. */
function fakeClient(copy: (reqs: readonly AppendRequest[], rows: string) => Promise<void>) {
  const ran: string[] = [];
  const copies: Array<{ actors: string[]; rows: string }> = [];
  return {
    ran, copies,
    query: async (text: string, params: readonly unknown[] = []): Promise<SqlRow[]> => {
      ran.push(text === SQL.appendGroupFast ? "fast" : text === SQL.appendGroup ? "careful" : text);
      const heads = JSON.parse(String(params[0])) as Array<{ i: number }>;
      return heads.map((h) => ({ i: h.i, epoch_ok: true, dups: null, tail_ok: true }));
    },
    appendByCopy: async (reqs: readonly AppendRequest[], rows: string) => {
      copies.push({ actors: reqs.map((r) => r.actorId), rows });
      await copy(reqs, rows);
    },
  };
}

describe("COPY append", () => {
  it("copy append - a text field escapes backslash, tab, newline and return, and refuses what PostgreSQL cannot store", () => {
    expect(copyField("plain é 中文 😀 \"q\"")).toBe("plain é 中文 😀 \"q\"");
    expect(copyField("a\\b\tc\nd\re\\.")).toBe("a\\\\b\\tc\\nd\\re\\\\.");
    expect(copyField("nul \u0000 inside")).toBeUndefined();
    expect(copyField("lone \ud800 high")).toBeUndefined();
    expect(copyField("lone \udc00 low")).toBeUndefined();
    expect(copyField("pair \ud83d\ude00 and tab\t")).toBe("pair \ud83d\ude00 and tab\\t");
    expect(copyRows([req("channel:a", 4, "x\ty"), { ...req("channel:b", 1), epoch: 7 }])).toBe(
      "channel:a\t4\tc-4\tann\tx\\ty\t1700000000000\t3\tmsg\t\\N\nchannel:b\t1\tc-1\tann\thi\t1700000000000\t7\tmsg\t\\N\n",
    );
    const edit = { actorId: "channel:a", epoch: 3, entries: [{ seq: 5, clientId: "e", sender: "ann", body: "new", ts: 1, kind: "edit" as const, ref: 4 }] };
    expect(copyRows([edit])).toBe("channel:a\t5\te\tann\tnew\t1\t3\tedit\t4\n");
    expect(copyRows([req("channel:a", 1), req("channel:b", 1, "bad \u0000")])).toBeUndefined();
    expect(textArray(["channel:a", 'say "hi"', "back\\slash"])).toBe('{"channel:a","say \\"hi\\"","back\\\\slash"}');
  });

  it("copy append - a group goes by COPY only when every append is known to continue its journal", async () => {
    const q = fakeClient(async () => {});
    const group = [req("channel:a", 5), req("channel:b", 2)];
    expect(await appendGroup(q, group, [true, true])).toEqual([{ ok: true }, { ok: true }]);
    expect(q.copies.map((c) => c.actors)).toEqual([["channel:a", "channel:b"]]);
    expect(q.ran).toEqual([]);
    expect(await appendGroup(q, group, [true, false])).toEqual([{ ok: true }, { ok: true }]);
    expect(await appendGroup(q, group)).toEqual([{ ok: true }, { ok: true }]);
    expect(q.copies).toHaveLength(1);
    expect(q.ran).toEqual(["fast", "fast"]);
  });

  it("copy append - a refused COPY leaves each append to the statement, and an unknown outcome is not retried", async () => {
    const refused = fakeClient(async () => {
      throw Object.assign(new Error("duplicate key value violates unique constraint"), { severity: "ERROR", code: "23505" });
    });
    const group = [req("channel:a", 5), req("channel:b", 2)];
    expect(await appendGroup(refused, group, [true, true])).toEqual([{ ok: true }, { ok: true }]);
    expect(refused.ran).toEqual(["fast"]);

    const lost = fakeClient(async () => {
      throw new StoreCommitUnknownError("connection lost");
    });
    await expect(appendGroup(lost, group, [true, true])).rejects.toBeInstanceOf(StoreCommitUnknownError);
    expect(lost.ran).toEqual([]);

    // Text PostgreSQL cannot store never reaches COPY: the statement refuses it as before.
    const q = fakeClient(async () => {});
    await appendGroup(q, [req("channel:a", 5, "lone \ud800")], [true]);
    expect(q.copies).toEqual([]);
    expect(q.ran).toEqual(["fast"]);
  });
});
