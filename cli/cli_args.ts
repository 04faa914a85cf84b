import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

/**
 * The one command-line parser of every Storm command and script: `node:util`'s `parseArgs` in
 * strict mode (unknown flags, missing values and stray arguments are errors), plus what each
 * command needs around it: a `--help` that prints and does nothing else, `--version`, typed
 * values with the flag named in the error, and typo detection for `STORM_*` variables.
 */

/** Bad usage (an unknown flag, a missing or bad value): the command prints it with its usage and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Exit status of bad usage or bad configuration, for every command. */
export const USAGE_EXIT = 2;

export interface FlagSpec {
  type: "string" | "boolean";
  multiple?: boolean;
  short?: string;
  /**
   * The value may start with a dash (e.g. `--server-node-args "--cpu-prof"`): `--flag value` is
   * read as `--flag=value`, which strict `parseArgs` otherwise refuses as ambiguous.
   */
  dashValue?: boolean;
}

export type FlagSpecs = Record<string, FlagSpec>;

export type FlagValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface Parsed {
  values: FlagValues;
  positionals: string[];
  /** `--help` or `-h` was given: print the usage, exit 0, touch nothing. */
  help: boolean;
  /** `--version` was given: print `storm <version>`, exit 0. */
  version: boolean;
}

/**
 * Parses `argv` strictly against `specs` (`--help`, `-h` and `--version` are always known).
 * `positionals`: whether bare arguments are allowed (default: none is).
 * @throws {UsageError}
 */
export function parseFlags(argv: readonly string[], specs: FlagSpecs, opts: { positionals?: boolean } = {}): Parsed {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const spec = a.startsWith("--") && !a.includes("=") ? specs[a.slice(2)] : undefined;
    if (spec?.dashValue && argv[i + 1] !== undefined) args.push(`${a}=${argv[++i]}`);
    else args.push(a);
  }
  const options = {
    ...Object.fromEntries(Object.entries(specs).map(([k, s]) => [k, { type: s.type, ...(s.multiple ? { multiple: true } : {}), ...(s.short ? { short: s.short } : {}) }])),
    help: { type: "boolean" as const, short: "h" },
    version: { type: "boolean" as const },
  };
  // `--help` wins over every other mistake on the line: it must print the usage and nothing else.
  const end = args.indexOf("--");
  const flagsPart = end < 0 ? args : args.slice(0, end);
  const help = flagsPart.includes("--help") || flagsPart.includes("-h");
  const version = flagsPart.includes("--version");
  if (help || version) return { values: {}, positionals: [], help, version };
  try {
    const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals: opts.positionals ?? false });
    return { values: values as FlagValues, positionals, help: false, version: false };
  } catch (err) {
    throw new UsageError(usageMessage(err, Object.keys(specs)));
  }
}

function usageMessage(err: unknown, known: string[]): string {
  const e = err as { code?: string; message?: string };
  const first = (e.message ?? String(err)).split("\n")[0]!;
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const flag = /'(-{1,2}[^']*)'/.exec(first)?.[1] ?? "";
    const near = closest(flag.replace(/^-+/, ""), known);
    return `Cannot parse arguments: unknown option "${flag}"${near ? ` (did you mean --${near}?)` : ""}`;
  }
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && first.includes("ambiguous")) {
    const flag = /'(--[^' ]*)/.exec(first)?.[1] ?? "";
    return `Cannot parse arguments: ${flag} needs a value (write ${flag}=VALUE for a value that starts with a dash)`;
  }
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && first.includes("argument missing")) {
    const flag = /'(--[^' ]*)/.exec(first)?.[1] ?? "";
    return `Cannot parse arguments: ${flag} needs a value`;
  }
  if (e.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    const arg = /'([^']*)'/.exec(first)?.[1] ?? "";
    return `Cannot parse arguments: unexpected argument "${arg}"`;
  }
  return `Cannot parse arguments: ${first}`;
}

/** A string flag's value, or undefined when absent (the last occurrence wins). */
export function str(values: FlagValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

/**
 * An integer within [min, max] from a flag or variable, or `dflt` when absent.
 * @throws {UsageError} naming `what` (e.g. `--port` or `STORM_PORT`)
 */
export function intValue(raw: string | undefined, what: string, dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (raw === undefined || raw === "") return dflt;
  const n = /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`Cannot read ${what}: "${raw.slice(0, 40)}" is not an integer in ${min}..${max === Number.MAX_SAFE_INTEGER ? "" : max}`);
  }
  return n;
}

/**
 * Every `STORM_*` variable the project reads anywhere (the node, the inspector, tests, scripts):
 * only an unknown name close to one of these is reported as a typo.
 */
export const KNOWN_STORM_ENV = [
  "STORM_PORT", "STORM_HOST", "STORM_DATA_DIR", "STORM_WORKERS", "STORM_POSTGRES_URL", "STORM_PG_POOL",
  "STORM_JWT_SECRET", "STORM_JWT_SECRET_FILE", "STORM_DEV_TOKENS", "STORM_DEV_ADMIN", "STORM_NODE_ID", "STORM_CLUSTER",
  "STORM_CLUSTER_NAME", "STORM_CLUSTER_SECRET", "STORM_CLUSTER_SECRET_FILE", "STORM_ADVERTISE", "STORM_LEASE_MS",
  "STORM_ASK_TIMEOUT_MS", "STORM_IDLE_MS", "STORM_HISTORY", "STORM_MAX_BUFFERED", "STORM_WRITE_CHUNK",
  "STORM_HEARTBEAT_MS", "STORM_AUTH_TIMEOUT_MS", "STORM_RETENTION_MAX_AGE", "STORM_RETENTION_MAX_COUNT",
  "STORM_DEDUPE_HORIZON", "STORM_WEBHOOK_POLL_MS", "STORM_WEBHOOK_LEASE_MS", "STORM_WEBHOOK_RETRY_BASE_MS",
  "STORM_WEBHOOK_RETRY_MAX_MS", "STORM_URL", "STORM_TOKEN", "STORM_CACHE", "STORM_PG_BINDIR",
  "STORM_HAZELCAST_JAR", "STORM_SKIP_PG", "STORM_SKIP_HAZELCAST", "STORM_PROP_SEED", "STORM_PROP_RUNS",
  "STORM_PROP_PGLITE", "STORM_PROP_PGLITE_RUNS", "STORM_CHAOS_OUT", "STORM_SUITE_REPEAT_OUT",
] as const;

/**
 * Throws for a set `STORM_*` variable that is not a known name but is within two edits of one
 * (`STORM_JWT_SECERT`): a typo there would silently run with a default, e.g. without the secret.
 * @throws {UsageError}
 */
export function checkStormEnv(env: Readonly<Record<string, string | undefined>>, known: readonly string[] = KNOWN_STORM_ENV): void {
  for (const name of Object.keys(env)) {
    if (!name.startsWith("STORM_") || known.includes(name)) continue;
    const near = closest(name, known);
    if (near) throw new UsageError(`Cannot read the environment: unknown variable ${name} (did you mean ${near}?)`);
  }
}

/** A flag or variable's value, or the trimmed content of the file its `*-file` twin names. */
export function secretValue(direct: string | undefined, file: string | undefined, what: string): string | undefined {
  if (file === undefined || file === "") return direct || undefined;
  if (direct) throw new UsageError(`Cannot read ${what}: give it directly or as a file, not both`);
  try {
    const v = readFileSync(file, "utf8").trim();
    if (!v) throw new UsageError(`Cannot read ${what} from ${file}: the file is empty`);
    return v;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`Cannot read ${what} from ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** The known name within two edits of `name` (the nearest), if any. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = distance(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

/** Damerau-Levenshtein distance (adjacent transpositions count as one edit: SECERT → SECRET). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** package.json's version, for `--version`. */
export function packageVersion(): string {
  let dir = new URL(".", import.meta.url);
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL("package.json", dir), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "storm" && pkg.version) return pkg.version;
    } catch {
      // Not here: look one level up (dist/cli, dist-tools/cli and cli all reach the root).
    }
    dir = new URL("..", dir);
  }
  return "unknown";
}

/**
 * The shape every command's `main` takes: parse, then `--help` (usage on stdout, exit 0),
 * `--version`, or a usage error (message and usage on stderr, exit 2); else the parsed arguments.
 * Returns the exit status when there is nothing to run.
 */
export function cliOutcome<T extends { help?: boolean; version?: boolean }>(parse: () => T, usage: string, name: string): T | number {
  let p: T;
  try {
    p = parse();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${name}: ${err.message}\n\n${usage}\n`);
    return USAGE_EXIT;
  }
  if (p.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (p.version) {
    process.stdout.write(`${name} ${packageVersion()}\n`);
    return 0;
  }
  return p;
}
