export interface HttpReply {
  status: number;
  /** Parsed JSON, or the raw text when the body is not JSON. Tests read arbitrary fields. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** One HTTP request to a test node: JSON in (or a raw body), JSON out when the reply is JSON. */
export async function httpJson(url: string, method: string, o: { token?: string; body?: unknown; raw?: string; timeoutMs?: number } = {}): Promise<HttpReply> {
  const headers: Record<string, string> = {};
  if (o.token) headers["authorization"] = `Bearer ${o.token}`;
  let body: string | undefined = o.raw;
  if (o.body !== undefined) {
    body = JSON.stringify(o.body);
    headers["content-type"] = "application/json";
  }
  const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(o.timeoutMs ?? 10_000) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Keep the text.
  }
  return { status: res.status, body: parsed };
}
