import { InvalidActorIdError } from "./errors.ts";

/** Address of a virtual actor: `kind:key`, e.g. `channel:general`, `session:alice`. */
export type ActorId = string;

const KIND = /^[a-z][a-z0-9_-]{0,31}$/;
const MAX_KEY = 200;

/** Builds an actor id, rejecting kinds and keys that could not round-trip through `parseActorId`. */
export function actorId(kind: string, key: string): ActorId {
  if (!KIND.test(kind)) throw new InvalidActorIdError(`Cannot build actor id: invalid kind "${kind}"`);
  if (key.length === 0 || key.length > MAX_KEY) {
    throw new InvalidActorIdError(`Cannot build actor id: key length ${key.length} outside 1..${MAX_KEY}`);
  }
  return `${kind}:${key}`;
}

/** Splits an actor id at its first colon; keys may contain colons (`channel:dm:alice:bob`). */
export function parseActorId(id: string): { kind: string; key: string } {
  const at = id.indexOf(":");
  if (at <= 0 || at === id.length - 1) throw new InvalidActorIdError(`Cannot parse actor id: "${id}"`);
  const kind = id.slice(0, at);
  if (!KIND.test(kind)) throw new InvalidActorIdError(`Cannot parse actor id: invalid kind "${kind}"`);
  return { kind, key: id.slice(at + 1) };
}
