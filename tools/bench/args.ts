// Reading `--name value` flags, shared by the benchmark drivers: declared where they are read,
// checked all at once by the strict parser every Storm command uses (cli/cli_args.ts).
import { type FlagSpecs, packageVersion, parseFlags, USAGE_EXIT, UsageError } from '../../cli/cli_args.ts';

export interface Flags {
  /** The value after `--name`, or `def`. */
  get(name: string, def: string): string;
  /** A non-negative number after `--name`, or `def`; anything else is an error naming the flag (reported by `done`). */
  num(name: string, def: number): number;
  /** `num` rounded down and held within [min, max]. */
  int(name: string, def: number, min?: number, max?: number): number;
  /** Whether the valueless flag `--name` is given. */
  has(name: string): boolean;
  /**
   * Called once every flag has been read, before the driver does anything: with `--help` (or
   * `-h`), prints `usage` and the flags read, with their defaults, and exits 0; `--version` prints
   * the version. Then the command line is parsed strictly against the flags read: a flag never
   * read (a typo), a flag without its value, or a bad value prints the error and the usage on
   * stderr and exits 2 (throws a `UsageError` instead with `{ exit: false }`), so a typo does not
   * silently run a benchmark with the default.
   */
  done(usage: string): void;
}

export function flags(argv: readonly string[], opts: { exit?: boolean } = {}): Flags {
  /** Every flag read so far: its default, or null for a valueless one. */
  const read = new Map<string, string | null>();
  const errors: string[] = [];
  // The last occurrence wins, as in the strict parse `done` makes.
  const valueOf = (name: string): string | undefined => {
    let v: string | undefined;
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === `--${name}` && argv[i + 1] !== undefined) v = argv[++i];
      else if (a.startsWith(`--${name}=`)) v = a.slice(name.length + 3);
    }
    return v;
  };
  const get = (name: string, def: string): string => {
    read.set(name, def);
    return valueOf(name) ?? def;
  };
  const num = (name: string, def: number): number => {
    const v = Number(get(name, String(def)));
    if (Number.isFinite(v) && v >= 0) return v;
    errors.push(`Cannot read --${name}: not a non-negative number`);
    return def;
  };
  const int = (name: string, def: number, min = 0, max = Infinity): number => Math.min(max, Math.max(min, Math.floor(num(name, def))));
  const has = (name: string): boolean => {
    read.set(name, null);
    return argv.includes(`--${name}`);
  };
  const done = (usage: string): void => {
    const specs: FlagSpecs = Object.fromEntries([...read].map(([n, d]) => [n, d === null ? { type: 'boolean' } : { type: 'string', dashValue: true }]));
    const help = `${usage}\n\nflags:\n${[...read].map(([n, d]) => `  --${n}${d === null ? '' : ` (default: ${d === '' ? 'none' : d})`}`).join('\n')}`;
    let message: string | undefined;
    try {
      const p = parseFlags(argv, specs);
      if (p.help || p.version) {
        process.stdout.write(p.help ? `${help}\n` : `storm ${packageVersion()}\n`);
        process.exit(0);
      }
      message = errors[0];
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      message = err.message;
    }
    if (message === undefined) return;
    if (opts.exit === false) throw new UsageError(message);
    process.stderr.write(`${message}\n\n${help}\n`);
    process.exit(USAGE_EXIT);
  };
  return { get, num, int, has, done };
}
