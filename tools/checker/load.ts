import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { CheckerReadError } from "./errors.ts";
import { type HistoryEvent, parseHistory } from "./history.ts";
import { type Journal, parseJournal } from "./journal.ts";

/**
 * Reads and merges history files. A directory stands for every `*.jsonl` file under it (at any
 * depth, by path), so a chaos run can give each client process its own file. Events keep their
 * order within a file; files follow the order given.
 *
 * @throws {CheckerReadError} a path cannot be read, or a directory holds no `.jsonl` file
 * @throws {HistoryParseError} a line is not a valid event
 */
export async function loadHistoryFiles(paths: readonly string[]): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  for (const file of await expand(paths)) events.push(...parseHistory(await read(file, "history file"), file));
  return events;
}

/**
 * Reads a journal file (see `journal.ts` for the format, which a `psql` dump already has).
 *
 * @throws {CheckerReadError} the file cannot be read
 * @throws {JournalParseError} a line is not a valid row or epoch record
 */
export async function loadJournalFile(path: string): Promise<Journal> {
  return parseJournal(await read(path, "journal file"), path);
}

async function expand(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch((err: unknown) => {
      throw new CheckerReadError(`Cannot read history ${path}: ${why(err)}`, { cause: err });
    });
    if (!info.isDirectory()) {
      files.push(path);
      continue;
    }
    const found = (await readdir(path, { recursive: true })).filter((name) => name.endsWith(".jsonl")).sort();
    if (found.length === 0) throw new CheckerReadError(`Cannot read history ${path}: the directory holds no .jsonl file`);
    files.push(...found.map((name) => join(path, name)));
  }
  return files;
}

async function read(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw new CheckerReadError(`Cannot read ${what} ${path}: ${why(err)}`, { cause: err });
  }
}

function why(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
