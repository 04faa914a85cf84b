/**
 * Errors raised by the storage layer: the closed set every `Store` implementation rejects with.
 * Expected outcomes (fenced, duplicate, conflict) are values, not errors; these errors mean the
 * store could not give an answer. Every class takes `(message, { cause })`, so an error that
 * crosses a thread as `{ name, message }` is rebuilt as the same class (`storeErrorFromWire`).
 */
export class StoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The store was closed; nothing was attempted. */
export class StoreClosedError extends StoreError {}

/** A statement failed and its transaction was rolled back: nothing it would have written is committed. */
export class StoreQueryError extends StoreError {}

/**
 * COMMIT was sent but its result was lost (connection dropped): the writes may or may not be
 * committed. Retrying the same append tells which: a `duplicate` outcome carrying the same seqs
 * means the first attempt committed.
 */
export class StoreCommitUnknownError extends StoreError {}

/** The schema could not be brought to the current version; the store did not open. */
export class StoreMigrationError extends StoreError {}

/** A request over a store port was malformed (unknown operation, bad shape). */
export class StoreProtocolError extends StoreError {}

/** The storage worker failed with an error outside this set (a bug, not an outcome). */
export class StoreRemoteError extends StoreError {}

/** Plain, structured-clone-safe form of an error crossing a store port. */
export interface WireStoreError {
  name: string;
  message: string;
}

const BY_NAME: Record<string, new (message: string, options?: { cause?: unknown }) => StoreError> = {
  StoreError,
  StoreClosedError,
  StoreQueryError,
  StoreCommitUnknownError,
  StoreMigrationError,
  StoreProtocolError,
  StoreRemoteError,
};

export function storeErrorToWire(err: unknown): WireStoreError {
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: "Error", message: String(err) };
}

/** Rebuilds a storage error with its original class; anything else becomes a `StoreRemoteError`. */
export function storeErrorFromWire(wire: WireStoreError): StoreError {
  const cause = Object.assign(new Error(wire.message), { name: wire.name });
  const known = Object.hasOwn(BY_NAME, wire.name) ? BY_NAME[wire.name] : undefined;
  if (known) return new known(wire.message, { cause });
  return new StoreRemoteError(`Storage worker failed: ${wire.name}: ${wire.message}`, { cause });
}
