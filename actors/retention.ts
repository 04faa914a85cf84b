import type { TrimRule } from "../storage/store.ts";

/**
 * How much of a channel's journal is kept: at most `maxCount` messages, none older than
 * `maxAgeMs`; an absent field sets no limit. A channel's own policy replaces the server's
 * default as a whole (`--retention-max-age`, `--retention-max-count`).
 */
export interface RetentionPolicy {
  maxAgeMs?: number;
  maxCount?: number;
}

/** No limit: the journal keeps everything (the default without flags). */
export const KEEP_ALL: RetentionPolicy = {};

/** A trim is attempted at most this often by one channel (a trim that drops nothing costs a statement). */
export const TRIM_INTERVAL_MS = 1_000;

/**
 * True when the journal holds more than the policy's count plus a tenth of it (at least one), so
 * trims come in steps instead of one statement per publish.
 */
export function overCount(policy: RetentionPolicy, first: number, last: number): boolean {
  if (policy.maxCount === undefined || last === 0) return false;
  return last - first + 1 > policy.maxCount + Math.max(1, Math.floor(policy.maxCount / 10));
}

/**
 * The store's trim rule for a policy at `now`. `horizonMs` is the exactly-once horizon: entries
 * younger than it stay whatever the policy says, so a publish retried within it after a failover
 * still finds its client id in the journal (G3) instead of being appended again.
 */
export function trimRule(policy: RetentionPolicy, last: number, now: number, horizonMs: number): TrimRule | null {
  if (policy.maxAgeMs === undefined && policy.maxCount === undefined) return null;
  return {
    uptoSeq: policy.maxCount === undefined ? 0 : last - policy.maxCount,
    olderThan: policy.maxAgeMs === undefined ? undefined : now - policy.maxAgeMs,
    keepSince: now - horizonMs,
  };
}

/** How often an active channel with an age limit checks it: a tenth of the limit, between 1 s and 1 min. */
export function ageCheckMs(policy: RetentionPolicy): number | undefined {
  if (policy.maxAgeMs === undefined) return undefined;
  return Math.min(60_000, Math.max(1_000, Math.floor(policy.maxAgeMs / 10)));
}
