/**
 * Server API keys and token revocations, as stored (the server API's half of the store). A key is
 * stored as the SHA-256 of its text only; revocations are keyed by a keyed hash of the user name.
 */
export interface ApiKeyStore {
  /** Stores a new key's hash; the id must be new. */
  createKey(key: { id: string; name: string; scopes: string[]; hash: string }): Promise<ApiKeyRecord>;
  listKeys(): Promise<ApiKeyRecord[]>;
  /** True when the key was live and is now revoked. */
  revokeKey(id: string): Promise<boolean>;
  /** The live key whose text hashes to `hash`, or null. */
  findKey(hash: string): Promise<{ id: string; name: string; scopes: string[] } | null>;
  /** From now on, tokens of the subject issued before `before` (ms) are refused; returns the effective bound. */
  revokeTokens(subjectHash: string, before: number): Promise<number>;
  listRevocations(): Promise<Array<{ subjectHash: string; before: number }>>;
}

export interface ApiKeyRecord {
  id: string;
  name: string;
  scopes: string[];
  createdAt: number;
  revokedAt: number | null;
}
