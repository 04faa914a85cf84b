/**
 * Field readers shared by the history and journal parsers (internal). Each throws a plain `Error`
 * naming the field; the parser wraps it with the file and line.
 */
export type JsonObject = Record<string, unknown>;

export function asObject(v: unknown): JsonObject {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("expected a JSON object");
  return v as JsonObject;
}

export function str(o: JsonObject, key: string): string {
  const v = o[key];
  if (typeof v !== "string") throw new Error(`"${key}" must be a string, got ${describe(v)}`);
  return v;
}

export function optStr(o: JsonObject, key: string): string | undefined {
  return o[key] === undefined || o[key] === null ? undefined : str(o, key);
}

export function int(o: JsonObject, key: string, min: number): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) {
    throw new Error(`"${key}" must be an integer >= ${min}, got ${describe(v)}`);
  }
  return v;
}

export function optInt(o: JsonObject, key: string, min: number): number | undefined {
  return o[key] === undefined || o[key] === null ? undefined : int(o, key, min);
}

/** A time in ms since the Unix epoch: a number, or an ISO-8601 text (PostgreSQL's timestamptz). */
export function optTime(o: JsonObject, key: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const ms = typeof v === "string" ? Date.parse(v) : v;
  if (typeof ms !== "number" || !Number.isFinite(ms)) throw new Error(`"${key}" must be a time (ms or ISO-8601), got ${describe(v)}`);
  return ms;
}

export function describe(v: unknown): string {
  return v === undefined ? "nothing" : JSON.stringify(v);
}
