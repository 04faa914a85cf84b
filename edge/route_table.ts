import type { IncomingMessage, ServerResponse } from "node:http";
import { RejectedError } from "../runtime/core/errors.ts";

/** A route that writes its own response (so that it may stream it). */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, params: string[], url: URL) => Promise<void>;

/**
 * Routes of one module (data rights, server API), plugged into `HttpApi` beside its own: a route
 * here is matched first. A handler writes its response itself; a handler that throws before
 * writing gets the typed error body from `HttpApi`.
 */
export class RouteTable {
  readonly #routes: Array<[string, RegExp, RouteHandler]> = [];

  add(method: string, path: string, handler: RouteHandler): void {
    this.#routes.push([method, new RegExp(`^${path}$`), handler]);
  }

  /** The handler of `method path` with its decoded path parameters, or undefined. */
  match(method: string, path: string): { handler: RouteHandler; params: string[] } | undefined {
    for (const [m, re, handler] of this.#routes) {
      if (m !== method) continue;
      const hit = re.exec(path);
      if (hit) return { handler, params: hit.slice(1).map(decodePart) };
    }
    return undefined;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

/** The bearer token of a request, if any. */
export function bearerOf(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  return h?.startsWith("Bearer ") ? h.slice(7) : undefined;
}

function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new RejectedError("bad_request", `Cannot parse path segment "${part.slice(0, 40)}": bad percent-encoding`);
  }
}
