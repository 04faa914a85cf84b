/**
 * Exit statuses of `storm serve`, one per class of failure, so a supervisor or a script can tell
 * a mistake to fix (configuration) from a condition that may clear (a port or a store coming free).
 */
export const EXIT = {
  /** Bad flags, variables or secrets: fix the command line. */
  config: 2,
  /** Another live process holds the data directory. */
  lockHeld: 3,
  /** The listening port is taken (or the host cannot be bound). */
  portInUse: 4,
  /** The store (PGlite under the data dir, or PostgreSQL) cannot be opened. */
  storeUnavailable: 5,
  /**
   * A cluster node lost its lease and could not rejoin in place (dropping its actors or starting
   * fresh workers failed): restart it. A node whose lease is merely lost rejoins without exiting.
   */
  leaseLost: 75,
} as const;

export type StartupFailure = Exclude<keyof typeof EXIT, "leaseLost">;

/** A node that cannot start: one line naming the cause and the fix, and the exit status of its class. */
export class StartupError extends Error {
  override name = "StartupError";
  readonly exitCode: number;

  constructor(readonly failure: StartupFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.exitCode = EXIT[failure];
  }
}
