import { KEEP_ALL, type RetentionPolicy } from "./retention.ts";

export interface ChannelActorOptions {
  /** Committed messages kept in memory for resume and history. */
  historySize: number;
  /** Client ids remembered in memory for duplicate detection (older ones are found in the store). */
  dedupeWindow: number;
  /** The server-wide retention policy; a channel's own (set by its owner or an admin) replaces it. */
  retention: RetentionPolicy;
  /** Entries younger than this are never trimmed: the exactly-once horizon across failovers (G3). */
  dedupeHorizonMs: number;
}

export const defaultChannelOptions: ChannelActorOptions = { historySize: 2_000, dedupeWindow: 20_000, retention: KEEP_ALL, dedupeHorizonMs: 60_000 };
