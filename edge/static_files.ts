import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

interface File {
  body: Buffer;
  type: string;
}

/**
 * The web app's files (`web/dist`), served at `/`. The directory is read once, at start, into a
 * table of exact URL paths, so a request can only ever name one of those files: `..`, encoded
 * separators and symlinks out of the directory find nothing and fall through to the API's 404.
 */
export class StaticFiles {
  readonly #files = new Map<string, File>();

  constructor(root: string) {
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        const st = statSync(path);
        if (st.isDirectory()) walk(path);
        else if (st.isFile()) this.#files.set(`/${relative(root, path).split(sep).join("/")}`, { body: readFileSync(path), type: TYPES[extname(name)] ?? "application/octet-stream" });
      }
    };
    walk(root);
  }

  /** The app built next to this module (`web/dist` of the checkout, from sources or from dist/), if any. */
  static fromBuild(): StaticFiles | undefined {
    for (const up of ["../web/dist", "../../web/dist"]) {
      const dir = fileURLToPath(new URL(up, import.meta.url));
      if (existsSync(join(dir, "index.html"))) return new StaticFiles(dir);
    }
    return undefined;
  }

  /** Answers a GET or HEAD of one of the files (`/` is `/index.html`); false when it is not one. */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const path = (req.url ?? "/").split("?")[0]!;
    const file = this.#files.get(path === "/" ? "/index.html" : path);
    if (!file) return false;
    res.writeHead(200, { "content-type": file.type, "content-length": file.body.length, "cache-control": "no-cache", "x-content-type-options": "nosniff" });
    res.end(req.method === "HEAD" ? undefined : file.body);
    return true;
  }
}
