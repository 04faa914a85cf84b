/** Characters a JSON string must escape, and surrogates (`JSON.stringify` escapes a lone one). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * `s` as a JSON string, exactly as `JSON.stringify(s)` writes it: quoted as it is when nothing in
 * it needs escaping (client ids, user and channel names, most bodies), which spares a copy of the
 * string and the generic serializer on hot paths that build JSON text by hand.
 */
export function jsonString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}
