/**
 * What the group commit did: statements, appends and entries committed through them, and a
 * histogram of the statements' wall time (submit to result, as the actor thread saw it). Plain
 * numbers, so a snapshot crosses threads by structured clone; the node sums the snapshots of its
 * threads and renders them for `GET /metrics`.
 */
export interface CommitStatsSnapshot {
  statements: number;
  /** Of those, the groups written by COPY (`SqlClient.appendByCopy`) that committed. */
  copies: number;
  appends: number;
  entries: number;
  /** Sum of the statements' wall time, seconds. */
  seconds: number;
  /** Statements per bucket of `COMMIT_BUCKETS` (not cumulative); the last counts the rest. */
  buckets: number[];
}

/** Upper bounds of the wall-time buckets, seconds. */
export const COMMIT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

export class CommitStats {
  readonly #s: CommitStatsSnapshot = emptyCommitStats();

  /** One group statement that returned (whatever its appends' outcomes). */
  record(appends: number, entries: number, seconds: number): void {
    const s = this.#s;
    s.statements++;
    s.appends += appends;
    s.entries += entries;
    s.seconds += seconds;
    let i = 0;
    while (i < COMMIT_BUCKETS.length && seconds > COMMIT_BUCKETS[i]!) i++;
    s.buckets[i]!++;
  }

  /** One group written by COPY and committed (counted by `record` too, as a statement). */
  copied(): void {
    this.#s.copies++;
  }

  snapshot(): CommitStatsSnapshot {
    return { ...this.#s, buckets: [...this.#s.buckets] };
  }
}

export function emptyCommitStats(): CommitStatsSnapshot {
  return { statements: 0, copies: 0, appends: 0, entries: 0, seconds: 0, buckets: new Array<number>(COMMIT_BUCKETS.length + 1).fill(0) };
}

export function sumCommitStats(all: readonly CommitStatsSnapshot[]): CommitStatsSnapshot {
  const out = emptyCommitStats();
  for (const s of all) {
    out.statements += s.statements;
    out.copies += s.copies ?? 0;
    out.appends += s.appends;
    out.entries += s.entries;
    out.seconds += s.seconds;
    s.buckets.forEach((n, i) => (out.buckets[i]! += n));
  }
  return out;
}

/** Prometheus text exposition: four counters and a histogram with cumulative buckets. */
export function commitStatsText(s: CommitStatsSnapshot): string {
  const counter = (name: string, help: string, v: number) => `# HELP ${name} ${help}\n# TYPE ${name} counter\n${name} ${v}\n`;
  let cumulative = 0;
  const bucketLines = COMMIT_BUCKETS.map((le, i) => {
    cumulative += s.buckets[i]!;
    return `storm_journal_group_seconds_bucket{le="${le}"} ${cumulative}\n`;
  }).join("");
  return (
    counter("storm_journal_group_statements_total", "group commit statements run (one transaction each)", s.statements) +
    counter("storm_journal_group_copies_total", "of those, groups written by COPY (every append known to continue its journal)", s.copies) +
    counter("storm_journal_appends_total", "channel appends run by group commit statements", s.appends) +
    counter("storm_journal_entries_total", "journal entries (messages) in those appends", s.entries) +
    "# HELP storm_journal_group_seconds wall time of a group commit statement, submit to result\n" +
    "# TYPE storm_journal_group_seconds histogram\n" +
    bucketLines +
    `storm_journal_group_seconds_bucket{le="+Inf"} ${s.statements}\n` +
    `storm_journal_group_seconds_sum ${s.seconds}\n` +
    `storm_journal_group_seconds_count ${s.statements}\n`
  );
}
