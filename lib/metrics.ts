/**
 * Minimal Prometheus instruments for the node's `GET /metrics` (text format 0.0.4). Each is a plain
 * object with number fields: incrementing one on a hot path costs a field update, and rendering
 * happens only when scraped. Label values are escaped; label names are fixed at construction.
 */

/** A counter without labels: `inc` on the hot path is one addition. */
export class Counter {
  value = 0;

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(n = 1): void {
    this.value += n;
  }

  render(): string {
    return header(this.name, this.help, "counter") + `${this.name} ${this.value}\n`;
  }
}

/**
 * A counter with labels (`code`, `route` and `status`, ...). Series appear on first increment;
 * `preset` ones from the start at 0. A hot path holds its series' `cell` and adds to it directly.
 */
export class LabelledCounter {
  readonly #cells = new Map<string, { value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labels: readonly string[],
    preset: ReadonlyArray<readonly string[]> = [],
  ) {
    for (const values of preset) this.cell(values);
  }

  /** The series of these label values, created at 0 when new. */
  cell(values: readonly string[]): { value: number } {
    const key = labelText(this.labels, values);
    let c = this.#cells.get(key);
    if (!c) this.#cells.set(key, (c = { value: 0 }));
    return c;
  }

  inc(values: readonly string[], n = 1): void {
    this.cell(values).value += n;
  }

  /** The value of one series (0 when it never moved). */
  get(values: readonly string[]): number {
    return this.#cells.get(labelText(this.labels, values))?.value ?? 0;
  }

  render(): string {
    let out = header(this.name, this.help, "counter");
    for (const [key, c] of this.#cells) out += `${this.name}{${key}} ${c.value}\n`;
    return out;
  }
}

/** A histogram of seconds with fixed upper bounds; `observe` finds the bucket with a short scan. */
export class Histogram {
  /** Observations per bucket (not cumulative); the last counts the rest (`+Inf`). */
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly bounds: readonly number[],
  ) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(v: number): void {
    let i = 0;
    while (i < this.bounds.length && v > this.bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }

  render(): string {
    let out = header(this.name, this.help, "histogram");
    let cumulative = 0;
    this.bounds.forEach((le, i) => {
      cumulative += this.counts[i]!;
      out += `${this.name}_bucket{le="${le}"} ${cumulative}\n`;
    });
    return out + `${this.name}_bucket{le="+Inf"} ${this.count}\n${this.name}_sum ${this.sum}\n${this.name}_count ${this.count}\n`;
  }
}

/** A gauge family rendered from values read at scrape time: one series per label set, or one unlabelled. */
export function gaugeText(name: string, help: string, series: number | ReadonlyArray<readonly [Record<string, string>, number]>): string {
  const lines = typeof series === "number"
    ? `${name} ${series}\n`
    : series.map(([labels, v]) => `${name}{${labelText(Object.keys(labels), Object.values(labels))}} ${v}\n`).join("");
  return header(name, help, "gauge") + lines;
}

function header(name: string, help: string, type: string): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
}

function labelText(names: readonly string[], values: readonly string[]): string {
  return names.map((n, i) => `${n}="${escapeLabel(values[i] ?? "")}"`).join(",");
}

/** The text format's label value escapes: backslash, double quote and newline. */
function escapeLabel(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}
