/** Log levels, most verbose first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Structured logs: one JSON object per line, `{ts, level, msg, node, ...fields}`, so a collector
 * (Loki, CloudWatch, `jq`) reads them without a parser per message. `ts` is ISO 8601 UTC. An error
 * passed as `err` becomes its message and stack. Lines below the logger's level cost one comparison.
 */
export class Logger {
  readonly #min: number;

  constructor(
    private readonly base: Readonly<Record<string, unknown>>,
    level: LogLevel,
    private readonly write: (line: string) => void,
  ) {
    this.#min = LOG_LEVELS.indexOf(level);
  }

  /** A logger whose lines also carry `fields` (a worker's index, a request id). */
  with(fields: Record<string, unknown>): Logger {
    return new Logger({ ...this.base, ...fields }, LOG_LEVELS[this.#min]!, this.write);
  }

  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= this.#min;
  }

  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (!this.enabled(level)) return;
    const line: Record<string, unknown> = { ts: new Date().toISOString(), level, msg, ...this.base, ...fields };
    if (line["err"] !== undefined) line["err"] = errorText(line["err"]);
    this.write(JSON.stringify(line));
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.log("debug", msg, fields);
  }

  info(msg: string, fields?: Record<string, unknown>): void {
    this.log("info", msg, fields);
  }

  warn(msg: string, fields?: Record<string, unknown>): void {
    this.log("warn", msg, fields);
  }

  error(msg: string, fields?: Record<string, unknown>): void {
    this.log("error", msg, fields);
  }

  /** The `(msg, err?)` callback the runtime's layers take: a warning, with the error when there is one. */
  readonly report = (msg: string, err?: unknown): void => this.log(err === undefined ? "info" : "warn", msg, err === undefined ? undefined : { err });
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return typeof err === "string" ? err : JSON.stringify(err);
}
