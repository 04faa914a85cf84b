import type { TSchema, Static } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import { ValueErrorType } from "@sinclair/typebox/errors";
import { StormError } from "../runtime/core/errors.ts";
import { type ClientFrame, ClientFrames, type ClientFrameType } from "./schemas.ts";

/** Thrown for input that does not match its schema; maps to `bad_request`. */
export class ValidationError extends StormError {
  constructor(message: string) {
    super("bad_request", message);
  }
}

/** Input over a size limit (a field, a list, a frame); maps to `too_large`. */
export class TooLargeError extends StormError {
  constructor(message: string) {
    super("too_large", message);
  }
}

const cache = new WeakMap<TSchema, TypeCheck<TSchema>>();

function compiled<T extends TSchema>(schema: T): TypeCheck<T> {
  let c = cache.get(schema);
  if (!c) cache.set(schema, (c = TypeCompiler.Compile(schema)));
  return c as TypeCheck<T>;
}

/** Returns `value` typed by `schema`, or throws a `ValidationError` naming the first bad field. */
export function check<T extends TSchema>(schema: T, value: unknown, what: string): Static<T> {
  const c = compiled(schema);
  if (c.Check(value)) return value;
  const first = c.Errors(value).First();
  const where = first?.path ? ` at "${first.path}"` : "";
  const message = `Cannot accept ${what}${where}: ${first?.message ?? "invalid"}`;
  if (first?.type === ValueErrorType.StringMaxLength || first?.type === ValueErrorType.ArrayMaxItems) throw new TooLargeError(message);
  throw new ValidationError(message);
}

/** True when `value` matches `schema`. */
export function matches<T extends TSchema>(schema: T, value: unknown): value is Static<T> {
  return compiled(schema).Check(value);
}

const frameChecks = Object.fromEntries(
  Object.entries(ClientFrames).map(([t, s]) => [t, compiled(s)]),
) as unknown as Record<ClientFrameType, TypeCheck<TSchema>>;

/** Validates one client frame; unknown types and bad fields get a `ValidationError`. */
export function checkFrame(value: unknown): ClientFrame {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ValidationError("Cannot parse frame: not an object");
  const t = (value as { t?: unknown }).t;
  if (typeof t !== "string" || !Object.hasOwn(frameChecks, t)) {
    throw new ValidationError(`Cannot parse frame: unknown type "${String(t).slice(0, 32)}"`);
  }
  return check(ClientFrames[t as ClientFrameType], value, `frame "${t}"`) as ClientFrame;
}
