import { packageVersion, type Parsed, parseFlags, str, UsageError } from "../../cli/cli_args.ts";
import { type CheckOptions, checkHistory } from "./check.ts";
import { CheckerInputError, CheckerUsageError } from "./errors.ts";
import type { Journal } from "./journal.ts";
import { loadHistoryFiles, loadJournalFile } from "./load.ts";
import { loadJournalFromPostgres } from "./postgres_journal.ts";
import { formatReport } from "./report.ts";

export const USAGE = `storm-check: checks client histories against the journal for G1-G5

  storm-check --history DIR_OR_FILE... (--journal FILE | --postgres URL) [--channel NAME]... [--json]

  --history   history files (JSON Lines), or directories of *.jsonl files; repeatable
  --journal   the journal as JSON Lines (a psql dump of tables journal and actor_epochs works)
  --postgres  read the journal from a Storm PostgreSQL database instead
  --channel   check only this channel; repeatable
  --json      print {ok, violations, stats} as JSON instead of the report
  --help      print this; --version prints the version

Exit status: 0 no violation, 1 violations found, 2 bad input.`;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

interface CliArgs {
  history: string[];
  journal?: string;
  postgres?: string;
  channels: string[];
  json: boolean;
  help: boolean;
  version: boolean;
}

/** Runs `storm-check` with these arguments and returns its exit status (0, 1 or 2). */
export async function runStormCheck(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const args = parseArgs(argv);
    if (args.help) {
      io.out(USAGE);
      return 0;
    }
    if (args.version) {
      io.out(`storm-check ${packageVersion()}`);
      return 0;
    }
    const journal: Journal = args.postgres ? await loadJournalFromPostgres(args.postgres) : await loadJournalFile(args.journal!);
    const events = await loadHistoryFiles(args.history);
    const opts: CheckOptions = args.channels.length > 0 ? { channels: args.channels } : {};
    const result = checkHistory(events, journal, opts);
    io.out(args.json ? JSON.stringify({ ok: result.violations.length === 0, ...result }) : formatReport(result));
    return result.violations.length === 0 ? 0 : 1;
  } catch (err) {
    if (!(err instanceof CheckerInputError)) throw err;
    io.err(`storm-check: ${err.message}${err instanceof CheckerUsageError ? `\n\n${USAGE}` : ""}`);
    return 2;
  }
}

/**
 * `--history` takes one or more paths: the bare arguments after it are more histories.
 * @throws {CheckerUsageError}
 */
export function parseArgs(argv: readonly string[]): CliArgs {
  let p: Parsed;
  try {
    p = parseFlags(argv, { history: { type: "string", multiple: true }, journal: { type: "string" }, postgres: { type: "string" }, channel: { type: "string", multiple: true }, json: { type: "boolean" } }, { positionals: true });
  } catch (err) {
    throw err instanceof UsageError ? new CheckerUsageError(err.message) : err;
  }
  const history = (p.values["history"] as string[] | undefined) ?? [];
  if (history.length === 0 && p.positionals.length > 0) throw new CheckerUsageError(`Cannot parse arguments: unexpected argument "${p.positionals[0]}"`);
  const args: CliArgs = {
    history: [...history, ...p.positionals],
    journal: str(p.values, "journal"),
    postgres: str(p.values, "postgres"),
    channels: (p.values["channel"] as string[] | undefined) ?? [],
    json: p.values["json"] === true,
    help: p.help,
    version: p.version,
  };
  if (p.help || p.version) return args;
  if (args.history.length === 0) throw new CheckerUsageError("Cannot parse arguments: --history is required");
  if ((args.journal === undefined) === (args.postgres === undefined)) {
    throw new CheckerUsageError("Cannot parse arguments: give exactly one of --journal and --postgres");
  }
  return args;
}
