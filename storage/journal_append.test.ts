import { describe, expect, it } from "vitest";
import { continuingParams, groupParams } from "./journal_append.ts";
import type { AppendRequest } from "./store.ts";

/** The same parameters built by `JSON.stringify`, the reference the hand-built text must equal. */
function reference(reqs: readonly AppendRequest[], which: readonly number[]): [string, string] {
  const heads = which.map((i) => ({ i, a: reqs[i]!.actorId, e: reqs[i]!.epoch, f: reqs[i]!.entries[0]?.seq ?? null }));
  const rows = which.flatMap((i) => reqs[i]!.entries.map((e) => ({ i, s: e.seq, c: e.clientId, u: e.sender, b: e.body, t: e.ts })));
  return [JSON.stringify(heads), JSON.stringify(rows)];
}

const TRICKY = [
  "plain text", "", 'a "quoted" word', "back\\slash", "line\nbreak\ttab\r", "nul \u0000 and \u001f", "\u007f del",
  "emoji 😀 pair", "lone high \ud800 surrogate", "lone low \udc00", "é ü 中文", "\u2028\u2029 separators", "</script>",
];

describe("journal append parameters", () => {
  it("group params - the hand-built JSON is exactly what JSON.stringify writes, for every kind of string", () => {
    const reqs: AppendRequest[] = TRICKY.map((text, k) => ({
      actorId: k % 2 ? `channel:${text}` : "channel:general",
      epoch: k + 1,
      entries: [
        { seq: 10 * k + 1, clientId: `cid-${text}`, sender: text, body: text, ts: 1_700_000_000_000 + k },
        { seq: 10 * k + 2, clientId: `cid2-${k}`, sender: "ann", body: `${text}${text}`, ts: 1_700_000_000_001 + k },
      ],
    }));
    reqs.push({ actorId: "channel:empty", epoch: 1, entries: [] });
    const which = reqs.map((_, i) => i);
    expect(groupParams(reqs, which)).toEqual(reference(reqs, which));
    expect(groupParams(reqs, [3, 0, 7])).toEqual(reference(reqs, [3, 0, 7]));
    // And it parses back to the very strings.
    const rows = JSON.parse(groupParams(reqs, which)[1]) as Array<{ b: string }>;
    expect(rows.map((r) => r.b)).toEqual(reqs.flatMap((r) => r.entries.map((e) => e.body)));
  });
});

describe("continuing append parameter", () => {
  it("continuing params - exactly what JSON.stringify writes, appends in code point order of their actor ids", () => {
    const ids = ["channel:b", "channel:\u{1F600}", "channel:\uFFFD", "channel:a", "channel:ab"];
    const reqs: AppendRequest[] = ids.map((actorId, k) => ({
      actorId,
      epoch: k + 1,
      entries: [
        { seq: 7, clientId: `cid-${TRICKY[k]}`, sender: TRICKY[k + 5]!, body: TRICKY[k + 8]!, ts: 1_700_000_000_000 + k },
        { seq: 8, clientId: `cid2-${k}`, sender: "ann", body: "edit", ts: 1_700_000_000_001 + k, kind: "edit", ref: 7 },
      ],
    }));
    const order = [3, 4, 0, 2, 1]; // U+FFFD sorts below a surrogate pair by code point, above it by UTF-16 code unit
    const reference = JSON.stringify(order.flatMap((i) => reqs[i]!.entries.map((e) => ({
      a: reqs[i]!.actorId, e: reqs[i]!.epoch, s: e.seq, c: e.clientId, u: e.sender, b: e.body, t: e.ts, ...(e.kind ? { k: e.kind } : {}), ...(e.ref ? { r: e.ref } : {}),
    }))));
    expect(continuingParams(reqs, [0, 1, 2, 3, 4])).toBe(reference);
    expect((JSON.parse(continuingParams(reqs, [1, 3])) as Array<{ a: string }>).map((r) => r.a)).toEqual([ids[3], ids[3], ids[1], ids[1]]);
  });
});
