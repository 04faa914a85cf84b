// Reading `--name value` flags, shared by the benchmark drivers.

export interface Flags {
  /** The value after `--name`, or `def`. */
  get(name: string, def: string): string;
  /** A non-negative number after `--name`, or `def`; anything else is an error naming the flag. */
  num(name: string, def: number): number;
  /** `num` rounded down and held within [min, max]. */
  int(name: string, def: number, min?: number, max?: number): number;
  /** Whether the valueless flag `--name` is given. */
  has(name: string): boolean;
  /**
   * Called once every flag has been read: with `--help` (or `-h`), prints `usage` and the flags
   * read, with their defaults, and exits; a `--flag` that was never read is an error naming it, so
   * a typo does not silently run a benchmark with the default instead.
   */
  done(usage: string): void;
}

export function flags(argv: readonly string[]): Flags {
  /** Every flag read so far: its default, or null for a valueless one. */
  const read = new Map<string, string | null>();
  const get = (name: string, def: string): string => {
    read.set(name, def);
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : def;
  };
  const num = (name: string, def: number): number => {
    const v = Number(get(name, String(def)));
    if (!Number.isFinite(v) || v < 0) throw new Error(`Cannot read --${name}: not a non-negative number`);
    return v;
  };
  const int = (name: string, def: number, min = 0, max = Infinity): number => Math.min(max, Math.max(min, Math.floor(num(name, def))));
  const has = (name: string): boolean => {
    read.set(name, null);
    return argv.includes(`--${name}`);
  };
  const done = (usage: string): void => {
    if (argv.includes('--help') || argv.includes('-h')) {
      const lines = [...read].map(([n, d]) => `  --${n}${d === null ? '' : ` (default: ${d === '' ? 'none' : d})`}`);
      process.stdout.write(`${usage}\n\nflags:\n${lines.join('\n')}\n`);
      process.exit(0);
    }
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (!a.startsWith('--')) continue;
      const name = a.slice(2);
      if (!read.has(name)) throw new Error(`Unknown flag ${a} (--help lists the flags)`);
      if (read.get(name) !== null) i++; // its value, which may itself start with -- (e.g. --server-node-args)
    }
  };
  return { get, num, int, has, done };
}
