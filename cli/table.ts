/** A table cell: null and undefined print as "-". */
export type Cell = string | number | boolean | null | undefined;

export interface Column {
  header: string;
  /** Numbers read best right-aligned; default left. */
  align?: "left" | "right";
}

const GAP = "  ";

/** Text of one cell: "-" for a missing value (an empty string stays empty). */
export function cellText(v: Cell): string {
  if (v === null || v === undefined) return "-";
  return String(v);
}

function width(s: string): number {
  return [...s].length;
}

function pad(s: string, w: number, align: "left" | "right"): string {
  const fill = " ".repeat(Math.max(0, w - width(s)));
  return align === "right" ? fill + s : s + fill;
}

/**
 * An aligned plain-text table: a header line, then one line per row; columns are separated by
 * two spaces and no line has trailing spaces. Rows shorter than the header get "-" cells.
 */
export function formatTable(columns: readonly Column[], rows: ReadonlyArray<readonly Cell[]>): string {
  const text = rows.map((r) => columns.map((_, i) => cellText(r[i]).replace(/[\r\n\t]/g, " ")));
  const widths = columns.map((c, i) => Math.max(width(c.header), ...text.map((r) => width(r[i]!))));
  const line = (cells: string[]) =>
    cells.map((s, i) => (i === cells.length - 1 && columns[i]!.align !== "right" ? s : pad(s, widths[i]!, columns[i]!.align ?? "left"))).join(GAP).trimEnd();
  return [line(columns.map((c) => c.header)), ...text.map(line)].join("\n");
}

/** Key/value lines, keys padded to one width: for the one-actor view. */
export function formatPairs(pairs: ReadonlyArray<readonly [string, Cell]>, indent = ""): string {
  const w = Math.max(0, ...pairs.map(([k]) => width(k)));
  return pairs.map(([k, v]) => `${indent}${pad(k, w, "left")}${GAP}${cellText(v)}`.trimEnd()).join("\n");
}

/** A duration for people: 420ms, 4.2s, 3m04s, 2h03m, 3d04h; "-" when unknown. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "-";
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const two = (n: number) => String(n).padStart(2, "0");
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${two(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d${two(Math.floor(s / 3600) % 24)}h`;
}

/** A value of the one-actor view: lists joined, objects as JSON, `*Ms` numbers also as durations. */
export function formatValue(key: string, v: unknown): Cell {
  if (v === null || v === undefined) return undefined;
  if (Array.isArray(v)) return v.length === 0 ? "(none)" : v.map((x) => (typeof x === "object" ? JSON.stringify(x) : String(x))).join(", ");
  if (typeof v === "object") return JSON.stringify(v);
  if (typeof v === "number" && /Ms$/.test(key)) return `${formatDuration(v)} (${v})`;
  return v as Cell;
}
