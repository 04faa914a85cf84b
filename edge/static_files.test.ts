import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StaticFiles } from "./static_files.ts";

describe("StaticFiles", () => {
  let root: string;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const top = mkdtempSync(join(tmpdir(), "storm-static-"));
    root = join(top, "dist");
    mkdirSync(join(root, "img"), { recursive: true });
    writeFileSync(join(root, "index.html"), "<!doctype html><title>x</title>");
    writeFileSync(join(root, "app.js"), "console.log(1)");
    writeFileSync(join(root, "style.css"), "body{}");
    writeFileSync(join(root, "img", "a.svg"), "<svg/>");
    writeFileSync(join(top, "secret.txt"), "outside the root");
    const files = new StaticFiles(root);
    server = createServer((req, res) => files.serve(req, res) || res.writeHead(404).end("api"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => {
    server.close();
    rmSync(join(root, ".."), { recursive: true, force: true });
  });

  it("serves / as index.html and each file with its content type", async () => {
    for (const [path, type, body] of [
      ["/", "text/html; charset=utf-8", "<!doctype html><title>x</title>"],
      ["/app.js?v=1", "text/javascript; charset=utf-8", "console.log(1)"],
      ["/style.css", "text/css; charset=utf-8", "body{}"],
      ["/img/a.svg", "image/svg+xml", "<svg/>"],
    ] as const) {
      const r = await fetch(base + path);
      expect([path, r.status, r.headers.get("content-type"), await r.text()]).toEqual([path, 200, type, body]);
    }
  });

  it("never serves a file outside its directory, however the path is written", async () => {
    for (const path of ["/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/img/../../secret.txt", "/img%2f..%2f..%2fsecret.txt", "//secret.txt"]) {
      const r = await fetch(base + path);
      expect([path, r.status, await r.text()]).toEqual([path, 404, "api"]);
    }
  });

  it("leaves other methods and unknown paths to the API", async () => {
    expect((await fetch(`${base}/app.js`, { method: "POST" })).status).toBe(404);
    expect((await fetch(`${base}/channels`)).status).toBe(404);
  });
});
