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
}

/** Runs `storm-check` with these arguments and returns its exit status (0, 1 or 2). */
export async function runStormCheck(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.out(USAGE);
    return 0;
  }
  try {
    const args = parseArgs(argv);
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

/** @throws {CheckerUsageError} */
export function parseArgs(argv: readonly string[]): CliArgs {
  const args: CliArgs = { history: [], channels: [], json: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith("--")) throw new CheckerUsageError(`Cannot parse arguments: ${flag} needs a value`);
      i++;
      return v;
    };
    switch (flag) {
      case "--history":
        args.history.push(value());
        while (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith("--")) args.history.push(argv[++i]!);
        break;
      case "--journal":
        args.journal = value();
        break;
      case "--postgres":
        args.postgres = value();
        break;
      case "--channel":
        args.channels.push(value());
        break;
      case "--json":
        args.json = true;
        break;
      default:
        throw new CheckerUsageError(`Cannot parse arguments: unknown argument "${flag}"`);
    }
  }
  if (args.history.length === 0) throw new CheckerUsageError("Cannot parse arguments: --history is required");
  if ((args.journal === undefined) === (args.postgres === undefined)) {
    throw new CheckerUsageError("Cannot parse arguments: give exactly one of --journal and --postgres");
  }
  return args;
}
