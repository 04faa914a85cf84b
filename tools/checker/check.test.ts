import { describe, expect, test } from "vitest";
import { type CheckResult, checkHistory } from "./check.ts";
import type { AckEvent, ConnId, DeliverEvent, ErrEvent, HistoryEvent, PubEvent, ResumeEvent, TruncatedEvent } from "./history.ts";
import type { EpochRecord, Journal, JournalRow } from "./journal.ts";
import type { ViolationKind } from "./violation.ts";

// Hand-made histories on channel "g"; a message's body is `body-<cid>` unless a test says otherwise.
const ch = "g";
const pub = (client: string, cid: string, body = `body-${cid}`): PubEvent => ({ k: "pub", client, ch, cid, body });
const ack = (client: string, cid: string, seq: number): AckEvent => ({ k: "ack", client, ch, cid, seq });
const err = (client: string, cid: string, code = "timeout"): ErrEvent => ({ k: "err", client, ch, cid, code });
const resume = (client: string, conn: ConnId, after: number): ResumeEvent => ({ k: "resume", client, ch, after, conn });
const truncated = (client: string, conn: ConnId, first: number): TruncatedEvent => ({ k: "truncated", client, ch, first, conn });
const deliver = (client: string, conn: ConnId, seq: number, cid: string, body = `body-${cid}`): DeliverEvent =>
  ({ k: "deliver", client, ch, seq, cid, body, conn });
const row = (seq: number, cid: string, more: Partial<JournalRow> = {}): JournalRow => ({ ch, seq, cid, body: `body-${cid}`, ...more });
const journal = (rows: JournalRow[], epochs: EpochRecord[] = []): Journal => ({ rows, epochs });

/** c1 publishes m1..m3, all acked; c2 reads them on one connection. */
function published(n: number): HistoryEvent[] {
  const out: HistoryEvent[] = [resume("c2", 1, 0)];
  for (let i = 1; i <= n; i++) out.push(pub("c1", `m${i}`), ack("c1", `m${i}`, i), deliver("c2", 1, i, `m${i}`));
  return out;
}
const rows = (n: number) => Array.from({ length: n }, (_, i) => row(i + 1, `m${i + 1}`));

function kinds(r: CheckResult): ViolationKind[] {
  return r.violations.map((v) => v.kind);
}

describe("checker", () => {
  test("checker - a clean history with retries, duplicate acks, resumes and unacked publishes has no violation", () => {
    const events: HistoryEvent[] = [
      resume("c2", 1, 0),
      // m1: timed out, retried, acked, retried again (ack dup with the same seq).
      pub("c1", "m1"), err("c1", "m1"), pub("c1", "m1"), ack("c1", "m1", 1), pub("c1", "m1"), ack("c1", "m1", 1),
      deliver("c2", 1, 1, "m1"),
      pub("c1", "m2"), ack("c1", "m2", 2), deliver("c2", 1, 2, "m2"),
      // c2 reconnects and resumes after 2; m3 is unacked but committed, m4 unacked and lost.
      resume("c2", 2, 2),
      pub("c1", "m3"), err("c1", "m3", "disconnected"), deliver("c2", 2, 3, "m3"),
      pub("c1", "m4"), err("c1", "m4", "unavailable"),
      pub("c3", "m5"), ack("c3", "m5", 4), deliver("c2", 2, 4, "m5"),
      // A new sub on the same connection starts a new stream; c4 reads everything from scratch.
      resume("c2", 2, 4), pub("c3", "m6"), ack("c3", "m6", 5), deliver("c2", 2, 5, "m6"),
      resume("c4", "a", 0), ...[1, 2, 3, 4, 5].map((seq) => deliver("c4", "a", seq, ["m1", "m2", "m3", "m5", "m6"][seq - 1]!)),
    ];
    const j = journal(
      [row(1, "m1", { epoch: 1, ts: 100 }), row(2, "m2", { epoch: 1, ts: 110 }), row(3, "m3", { epoch: 2, ts: 300 }), row(4, "m5", { epoch: 2, ts: 310 }), row(5, "m6", { epoch: 3, ts: 500 })],
      [{ ch, epoch: 3, fencedAt: 400 }],
    );
    const r = checkHistory(events, j);
    expect(r.violations).toEqual([]);
    expect(r.stats).toEqual({
      published: 6, acked: 4, errors: 3, unackedCommitted: 1, lostUnacked: 1, delivered: 10, streams: 4, journalRows: 5, lastSeq: { g: 5 },
    });
  });

  test("checker - a stream the server declared truncated may start at first", () => {
    const events = [resume("c2", 1, 0), truncated("c2", 1, 3), ...published(4).filter((e) => e.k !== "deliver" && e.k !== "resume"), deliver("c2", 1, 3, "m3"), deliver("c2", 1, 4, "m4")];
    expect(checkHistory(events, journal(rows(4))).violations).toEqual([]);
  });

  test("checker - a gap in the journal is reported", () => {
    const r = checkHistory([], journal([row(1, "m1"), row(2, "m2"), row(5, "m5")]));
    expect(kinds(r)).toEqual(["journal_gap"]);
    expect(r.violations[0]!.message).toContain("seq 3..4");
  });

  test("checker - a client id committed at two seqs is reported", () => {
    const r = checkHistory([pub("c1", "m1"), pub("c1", "m2")], journal([row(1, "m1"), row(2, "m2"), row(3, "m1")]));
    expect(kinds(r)).toEqual(["journal_duplicate_cid"]);
    expect(r.violations[0]!.evidence).toHaveLength(2);
  });

  test("checker - an acknowledged message missing from the journal is reported", () => {
    const r = checkHistory([...published(2), pub("c1", "m3"), ack("c1", "m3", 3)], journal(rows(2)));
    expect(kinds(r)).toEqual(["ack_missing"]);
  });

  test("checker - an ack whose seq differs from the journal's is reported", () => {
    const events = published(3).map((e) => (e.k === "ack" && e.cid === "m2" ? { ...e, seq: 3 } : e));
    expect(kinds(checkHistory(events, journal(rows(3))))).toEqual(["ack_seq_mismatch"]);
  });

  test("checker - two acks of one client id with different seqs are reported", () => {
    const r = checkHistory([...published(2), ack("c1", "m2", 1)], journal(rows(2)));
    expect(kinds(r)).toEqual(["ack_seq_mismatch"]);
    expect(r.violations[0]!.message).toContain("seq 2, 1");
  });

  test("checker - a delivery gap within one stream is reported", () => {
    const events = published(4).filter((e) => !(e.k === "deliver" && e.seq === 2));
    const r = checkHistory(events, journal(rows(4)));
    expect(kinds(r)).toEqual(["delivery_gap"]);
    expect(r.violations[0]!.message).toContain("skipped seq 2");
  });

  test("checker - a stream that resumes past a seq it never received has a gap", () => {
    const events = [...published(3).filter((e) => e.k !== "deliver"), resume("c3", 1, 0), deliver("c3", 1, 1, "m1"), deliver("c3", 1, 3, "m3")];
    expect(kinds(checkHistory(events, journal(rows(3))))).toEqual(["delivery_gap"]);
  });

  test("checker - a reorder within one stream is reported once, not as a gap", () => {
    const events = [...published(3).filter((e) => e.k !== "deliver"), deliver("c2", 1, 1, "m1"), deliver("c2", 1, 3, "m3"), deliver("c2", 1, 2, "m2")];
    const r = checkHistory(events, journal(rows(3)));
    expect(kinds(r)).toEqual(["delivery_reorder"]);
    expect(r.violations[0]!.message).toContain("seq 2 after seq 3");
  });

  test("checker - a seq delivered twice in one stream is reported", () => {
    const r = checkHistory([...published(2), deliver("c2", 1, 2, "m2")], journal(rows(2)));
    expect(kinds(r)).toEqual(["delivery_duplicate"]);
  });

  test("checker - a seq at or before the resume position is a duplicate", () => {
    const r = checkHistory([...published(3), resume("c2", 2, 2), deliver("c2", 2, 2, "m2"), deliver("c2", 2, 3, "m3")], journal(rows(3)));
    expect(kinds(r)).toEqual(["delivery_duplicate"]);
    expect(r.violations[0]!.evidence[0]).toMatchObject({ k: "resume", after: 2 });
  });

  test("checker - the same seq on two connections is not a duplicate", () => {
    const events = [...published(2), resume("c2", 2, 0), deliver("c2", 2, 1, "m1"), deliver("c2", 2, 2, "m2")];
    expect(checkHistory(events, journal(rows(2))).violations).toEqual([]);
  });

  test("checker - a delivery of a seq that is not in the journal is reported", () => {
    const r = checkHistory([...published(3)], journal(rows(2)));
    expect(kinds(r)).toEqual(["ack_missing", "delivery_not_in_journal"]);
  });

  test("checker - one seq delivered with another content than the journal's is reported", () => {
    const r = checkHistory([...published(2), resume("c3", 1, 1), deliver("c3", 1, 2, "m2", "tampered")], journal(rows(2)));
    expect(kinds(r)).toEqual(["content_mismatch"]);
    expect(r.violations[0]!.message).toContain('body "tampered" vs "body-m2"');
  });

  test("checker - one seq delivered with two contents across clients is reported", () => {
    const events = [pub("c1", "m1"), pub("c1", "m2"), deliver("c2", 1, 1, "m1"), deliver("c3", 1, 1, "m2")];
    const r = checkHistory(events, journal([]));
    expect(kinds(r)).toEqual(["delivery_not_in_journal", "content_mismatch"]);
  });

  test("checker - a sender that differs from the journal's is a content mismatch", () => {
    const events = [...published(1), { ...deliver("c3", 1, 1, "m1"), from: "mallory" }];
    expect(kinds(checkHistory(events, journal([row(1, "m1", { sender: "alice" })])))).toEqual(["content_mismatch"]);
  });

  test("checker - a committed body its client never published is a content mismatch", () => {
    const r = checkHistory([pub("c1", "m1"), err("c1", "m1")], journal([row(1, "m1", { body: "other" })]));
    expect(kinds(r)).toEqual(["content_mismatch"]);
  });

  test("checker - a delivered and committed message that no client published is a phantom", () => {
    const r = checkHistory([...published(2), deliver("c2", 1, 3, "ghost")], journal([...rows(2), row(3, "ghost")]));
    expect(kinds(r)).toEqual(["phantom"]);
    expect(r.violations[0]!.message).toContain('"ghost" was committed and delivered');
  });

  test("checker - an ack of a message no client published is a phantom", () => {
    const r = checkHistory([ack("c1", "m1", 1)], journal(rows(1)));
    expect(kinds(r)).toEqual(["phantom"]);
  });

  test("checker - journal rows of a channel absent from the history are not phantoms", () => {
    expect(checkHistory([], journal(rows(3))).violations).toEqual([]);
  });

  test("checker - a row written by a stale epoch after the new epoch wrote is a fenced write", () => {
    const r = checkHistory([], journal([row(1, "m1", { epoch: 1 }), row(2, "m2", { epoch: 2 }), row(3, "m3", { epoch: 1 })]));
    expect(kinds(r)).toEqual(["fenced_write"]);
    expect(r.violations[0]!.message).toContain("seq 3 was committed under epoch 1 after seq 2 under the newer epoch 2");
  });

  test("checker - a row accepted under an epoch after a newer epoch was acquired is a fenced write", () => {
    const r = checkHistory([], journal([row(1, "m1", { epoch: 1, ts: 100 }), row(2, "m2", { epoch: 1, ts: 300 })], [{ ch, epoch: 2, fencedAt: 200 }]));
    expect(kinds(r)).toEqual(["fenced_write"]);
    expect(r.violations[0]!.evidence[1]).toMatchObject({ seq: 2 });
  });

  test("checker - unacknowledged publishes that were not committed are counted, not reported", () => {
    const r = checkHistory([...published(1), pub("c1", "m2"), err("c1", "m2"), pub("c1", "m3")], journal(rows(1)));
    expect(r.violations).toEqual([]);
    expect(r.stats).toMatchObject({ published: 3, acked: 1, lostUnacked: 2, unackedCommitted: 0 });
  });

  test("checker - the channels option limits the check to those channels", () => {
    const other: JournalRow = { ch: "h", seq: 2, cid: "x", body: "x" };
    const r = checkHistory(published(1), journal([...rows(1), other]), { channels: ["g"] });
    expect(r.violations).toEqual([]);
    expect(r.stats.lastSeq).toEqual({ g: 1 });
  });

  describe("retention", () => {
    const trimmedAt = (floor: number): EpochRecord => ({ ch, epoch: 1, trimmed: floor });

    test("checker - a prefix trimmed by retention is not a gap, and acks and deliveries of trimmed seqs stand", () => {
      const events = [...published(5), resume("c3", 1, 1), truncated("c3", 1, 4), deliver("c3", 1, 4, "m4"), deliver("c3", 1, 5, "m5")];
      const r = checkHistory(events, journal(rows(5).slice(3), [trimmedAt(3)]));
      expect(r.violations).toEqual([]);
    });

    test("checker - a missing prefix with no trim on record is a gap", () => {
      const r = checkHistory(published(5), journal(rows(5).slice(3)));
      expect(kinds(r)).toContain("journal_gap");
      expect(kinds(r)).toContain("ack_missing");
    });

    test("checker - a hole above the trimmed floor is a gap", () => {
      const r = checkHistory(published(6), journal([row(4, "m4"), row(6, "m6")], [trimmedAt(3)]));
      expect(r.violations.filter((v) => v.kind === "journal_gap").map((v) => v.message)).toEqual(["the journal has no row at seq 5"]);
    });

    test("checker - a resume past a trim that was not declared truncated is a delivery gap", () => {
      const events = [...published(5), resume("c3", 1, 1), deliver("c3", 1, 4, "m4"), deliver("c3", 1, 5, "m5")];
      expect(kinds(checkHistory(events, journal(rows(5).slice(3), [trimmedAt(3)])))).toEqual(["delivery_gap"]);
    });
  });
});
