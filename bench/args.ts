// Reading `--name value` flags, shared by the benchmark drivers.

export interface Flags {
  /** The value after `--name`, or `def`. */
  get(name: string, def: string): string;
  /** A non-negative number after `--name`, or `def`; anything else is an error naming the flag. */
  num(name: string, def: number): number;
}

export function flags(argv: readonly string[]): Flags {
  const get = (name: string, def: string): string => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : def;
  };
  const num = (name: string, def: number): number => {
    const v = Number(get(name, String(def)));
    if (!Number.isFinite(v) || v < 0) throw new Error(`Cannot read --${name}: not a non-negative number`);
    return v;
  };
  return { get, num };
}
