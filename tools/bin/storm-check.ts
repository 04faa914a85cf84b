#!/usr/bin/env node
/**
 * storm-check: checks histories recorded by test clients against the committed journal and
 * reports every violation of G1-G5 (see `checker/`). Exit status 0 clean, 1 violations, 2 bad input.
 * Programs (the chaos suite) import `checker/` directly: `checkHistory`, `loadHistoryFiles`,
 * `loadJournalFromPostgres`; importing this file would run the command.
 *
 *   storm-check --history run/clients --journal run/journal.jsonl
 *   storm-check --history c1.jsonl c2.jsonl --postgres postgresql://storm@127.0.0.1:5432/storm --json
 */
import { runStormCheck } from "../checker/cli.ts";

process.exitCode = await runStormCheck(process.argv.slice(2), {
  out: (text) => console.log(text),
  err: (text) => console.error(text),
});
