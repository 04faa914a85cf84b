import { describe, expect, it } from "vitest";
import { formatPositions, parsePositionList, parsePositions } from "./positions.ts";
import { advance } from "./stream_position.ts";
import { SharedFrame } from "./shared_frame.ts";

describe("positions", () => {
  it("positions - a value splits at its last colon, so dm channel names keep theirs", () => {
    expect([...parsePositions(["general:12", "dm:alice:bob:3", "news"])]).toEqual([["general", 12], ["dm:alice:bob", 3], ["news", 0]]);
    expect([...parsePositions(["dm:alice:bob", "dm:alice:123"])]).toEqual([["dm:alice:bob", 0], ["dm:alice:123", 0]]);
  });

  it("positions - a list round-trips through its comma-separated form", () => {
    const p = parsePositionList("general:12,dm:alice:bob:3", "Last-Event-ID");
    expect(formatPositions(p)).toBe("general:12,dm:alice:bob:3");
  });

  it("positions - bad names, bad seqs and more than 100 channels are bad_request", () => {
    expect(() => parsePositions(["bad name:1"])).toThrow(expect.objectContaining({ code: "bad_request" }));
    expect(() => parsePositions([`general:${"9".repeat(20)}`])).toThrow(expect.objectContaining({ code: "bad_request" }));
    expect(() => parsePositions(Array.from({ length: 101 }, (_, i) => `c${i}:1`))).toThrow(expect.objectContaining({ code: "bad_request" }));
  });

  it("stream position - a msgs frame moves its channel to its last seq; a subbed frame lowers a position past the end", () => {
    const p = new Map([["g", 10], ["h", 2]]);
    expect(advance(p, '{"t":"subbed","ch":"g","last":6,"first":1}')).toBe(false);
    expect(p.get("g")).toBe(6);
    const shared = new SharedFrame('{"t":"msgs","ch":"h","m":[{"seq":3},{"seq":4}]}');
    expect(advance(p, shared)).toBe(true);
    expect(formatPositions(p)).toBe("g:6,h:4");
  });
});
