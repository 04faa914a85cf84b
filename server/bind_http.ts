import { createServer, type Server } from "node:http";
import { StartupError } from "./startup_error.ts";

/**
 * Binds the node's HTTP port first thing, before the store is opened, so a taken port fails fast
 * with its own exit status. Until the edge takes the server over, `/livez` answers 200 and every
 * other request (and upgrade) 503 `unavailable`: the process is alive, not ready.
 * @throws {StartupError} `portInUse`
 */
export async function bindHttp(port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    const live = req.url === "/livez" || req.url === "/healthz";
    res.writeHead(live ? 200 : 503, { "content-type": "application/json" });
    res.end(JSON.stringify(live ? { ok: true } : { error: { code: "unavailable", message: "The node is starting", retry: "retry" } }));
  });
  server.on("upgrade", (_req, socket) => socket.end("HTTP/1.1 503 Service Unavailable\r\n\r\n"));
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      const fix = err.code === "EADDRINUSE" ? "stop what uses it, or choose another --port" : "check --host and --port";
      reject(new StartupError("portInUse", `Cannot listen on ${host}:${port}: ${err.code ?? err.message} (${fix})`, { cause: err }));
    });
    server.listen(port, host, () => resolve());
  });
  return server;
}
