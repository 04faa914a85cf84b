import { InspectUsageError } from "./args.ts";

/** The server failed, refused, or could not be reached: exit status 1. */
export class InspectServerError extends Error {
  override name = "InspectServerError";
  constructor(
    message: string,
    /** HTTP status, 0 when the node could not be reached. */
    readonly status: number,
    /** Storm error code (`not_found`, `forbidden`, ...), or `unreachable` / `bad_reply` / `http_error`. */
    readonly code: string,
  ) {
    super(message);
  }
}

export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal }) => Promise<{ status: number; text(): Promise<string> }>;

export interface ClientOptions {
  fetch?: FetchLike;
  timeoutMs?: number;
  /** Notes for the operator (stderr). */
  note?(text: string): void;
}

export const DEV_TOKEN_USER = "inspector";

/**
 * Admin REST calls to one or more nodes of a cluster, all with the same bearer token. Every
 * non-2xx reply becomes an `InspectServerError` carrying the server's `{ error: { code, message } }`.
 */
export class AdminClient {
  readonly #fetch: FetchLike;
  readonly #timeoutMs: number;
  readonly #note: (text: string) => void;
  #token: string | undefined;

  constructor(
    /** HTTP base of the node the operator pointed at (`--url`). */
    readonly base: string,
    token: string | undefined,
    o: ClientOptions = {},
  ) {
    this.#token = token;
    this.#fetch = o.fetch ?? (fetch as unknown as FetchLike);
    this.#timeoutMs = o.timeoutMs ?? 10_000;
    this.#note = o.note ?? (() => {});
  }

  get<T>(path: string, base = this.base): Promise<T> {
    return this.#call<T>("GET", base, path, undefined, true);
  }

  post<T>(path: string, body: unknown, base = this.base): Promise<T> {
    return this.#call<T>("POST", base, path, body, true);
  }

  /**
   * The token to send: `--token`/`STORM_TOKEN`, else a dev token for user "inspector" with role
   * admin (announced on stderr). A node without (admin) dev tokens is a usage error: pass a token.
   */
  async token(): Promise<string> {
    if (this.#token !== undefined) return this.#token;
    let reply: { token?: unknown };
    try {
      reply = await this.#call<{ token?: unknown }>("POST", this.base, "/auth/dev-token", { user: DEV_TOKEN_USER, role: "admin" }, false);
    } catch (err) {
      if (err instanceof InspectServerError && err.status === 404) {
        throw new InspectUsageError(`Cannot get an admin token: no --token or STORM_TOKEN given, and ${this.base} hands out no dev tokens`);
      }
      if (err instanceof InspectServerError && err.status === 403) {
        throw new InspectUsageError(`Cannot get an admin token: no --token or STORM_TOKEN given, and ${this.base} hands out admin dev tokens only when started with --dev-admin`);
      }
      throw err;
    }
    if (typeof reply.token !== "string") throw new InspectServerError(`Cannot get an admin token: ${this.base}/auth/dev-token replied without a token`, 200, "bad_reply");
    this.#note(`storm inspect: no --token or STORM_TOKEN: using a dev token for user "${DEV_TOKEN_USER}" (role admin) from ${this.base}`);
    this.#token = reply.token;
    return reply.token;
  }

  async #call<T>(method: string, base: string, path: string, body: unknown, auth: boolean): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (auth) headers["authorization"] = `Bearer ${await this.token()}`;
    const init: Parameters<FetchLike>[1] = { method, headers, signal: AbortSignal.timeout(this.#timeoutMs) };
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const url = base + path;
    let status: number;
    let text: string;
    try {
      const res = await this.#fetch(url, init);
      status = res.status;
      text = await res.text();
    } catch (err) {
      throw new InspectServerError(`Cannot reach ${base} (${method} ${path}): ${reason(err)}`, 0, "unreachable");
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new InspectServerError(`Cannot read the reply to ${method} ${url}: HTTP ${status}, not JSON: ${text.slice(0, 80)}`, status, "bad_reply");
    }
    if (status >= 200 && status < 300) return parsed as T;
    const e = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const code = typeof e?.code === "string" ? e.code : "http_error";
    const message = typeof e?.message === "string" ? e.message : `HTTP ${status}`;
    throw new InspectServerError(message, status, code);
  }
}

/** Why a fetch failed, e.g. "connect ECONNREFUSED 127.0.0.1:8080" rather than "fetch failed". */
function reason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === "TimeoutError" || err.name === "AbortError") return "no reply in time";
  const cause = err.cause as { message?: unknown; code?: unknown; errors?: Array<{ message?: unknown }> } | undefined;
  if (cause && typeof cause.message === "string" && cause.message !== "") return cause.message;
  if (cause?.errors?.length && typeof cause.errors[0]!.message === "string") return cause.errors[0]!.message;
  if (cause && typeof cause.code === "string") return cause.code;
  return err.message;
}
