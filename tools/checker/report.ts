import type { CheckResult } from "./check.ts";
import type { Evidence } from "./violation.ts";

/**
 * The human-readable report of a check: a verdict line, the counts, then every violation with its
 * evidence, one item per line prefixed by where it was read (`file:line`).
 *
 * @example
 * console.log(formatReport(checkHistory(events, journal)));
 * // storm-check: FAIL, 1 violation (delivery_gap 1)
 * // ...
 */
export function formatReport(result: CheckResult): string {
  const { violations, stats: s } = result;
  const byKind = new Map<string, number>();
  for (const v of violations) byKind.set(v.kind, (byKind.get(v.kind) ?? 0) + 1);
  const kinds = [...byKind].map(([kind, n]) => `${kind} ${n}`).join(", ");
  const lastSeqs = Object.entries(s.lastSeq).map(([ch, seq]) => `${ch} ${seq}`).join(", ");
  const lines = [
    violations.length === 0 ? "storm-check: OK, no violation" : `storm-check: FAIL, ${plural(violations.length, "violation")} (${kinds})`,
    `history: ${s.published} published (${s.acked} acked, ${plural(s.errors, "error")}; unacked: ${s.unackedCommitted} committed, ${s.lostUnacked} lost), ` +
      `${s.delivered} delivered in ${plural(s.streams, "stream")}`,
    `journal: ${plural(s.journalRows, "row")}; last seq by channel: ${lastSeqs || "none"}`,
  ];
  for (const v of violations) {
    lines.push("", `${v.kind} [${v.ch}] ${v.message}`);
    for (const e of v.evidence) lines.push(`    ${formatEvidence(e)}`);
  }
  return lines.join("\n");
}

function formatEvidence(e: Evidence): string {
  const { at, ...rest } = e;
  return at === undefined ? JSON.stringify(rest) : `${at}  ${JSON.stringify(rest)}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
