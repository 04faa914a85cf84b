import type { HistoryEvent } from "./history.ts";
import type { EpochRecord, JournalRow } from "./journal.ts";

/**
 * What the checker can find wrong, a closed set; each kind names the guarantee it breaks.
 * Unacknowledged publishes that were not committed are not violations (their outcome was unknown
 * to the client): they are counted in the stats as `lostUnacked`.
 */
export const VIOLATION_KINDS = {
  journal_gap: "G1: the journal's seqs of a channel are not 1..n",
  journal_duplicate_cid: "G3: one client id is committed at two seqs",
  ack_missing: "G2: an acknowledged message is not in the journal",
  ack_seq_mismatch: "G2/G3: an ack's seq differs from the journal's seq for that client id, or from another ack of it",
  delivery_gap: "G1/G4: a subscription stream skipped seqs",
  delivery_reorder: "G1: a subscription stream delivered a seq after a greater one",
  delivery_duplicate: "G4: a subscription stream delivered a seq twice, or one at or before its resume position",
  delivery_not_in_journal: "G2: a delivered seq is not in the journal (shown without being durable)",
  content_mismatch: "G1/G2: one seq with two contents (across deliveries, the journal, or the published body)",
  phantom: "G2: a delivered, acknowledged or committed message that no client published",
  fenced_write: "G5: a row committed under an epoch that a newer activation had already fenced",
  change_of_missing: "G1/G8: an edit, delete or reaction refers to no earlier message of its channel, or to a deleted one",
} as const;

export type ViolationKind = keyof typeof VIOLATION_KINDS;

/** Anything a violation can point at: the events and rows that prove it. */
export type Evidence = HistoryEvent | JournalRow | EpochRecord;

export interface Violation {
  kind: ViolationKind;
  ch: string;
  /** One sentence, with the seqs and client ids involved. */
  message: string;
  evidence: Evidence[];
}
