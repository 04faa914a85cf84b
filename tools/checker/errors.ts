/**
 * Errors of the history checker: the closed set the CLI turns into exit code 2 ("bad input").
 * A violation of the contract is never an error: it is a `Violation` in the check's result.
 * Messages follow `Cannot <do what>: <why>`.
 */
export class CheckerInputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A history line is not JSON or not a valid event (`Cannot parse history line 12 of c1.jsonl: ...`). */
export class HistoryParseError extends CheckerInputError {}

/** A journal line is not JSON or not a valid row or epoch record. */
export class JournalParseError extends CheckerInputError {}

/** A history or journal file or directory could not be read, or PostgreSQL could not be queried. */
export class CheckerReadError extends CheckerInputError {}

/** The command line is malformed (unknown flag, missing value, missing input). */
export class CheckerUsageError extends CheckerInputError {}
