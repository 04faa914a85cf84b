import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import { LeanWs } from "./lean_ws.ts";

// The load processes' WebSocket client, against a real `ws` server: what a subscriber receives must
// be byte for byte what the server sent, whatever the reads cut, and the server must accept what
// the client sends (masked frames, pongs, the close handshake).
let server: http.Server;
let wss: WebSocketServer;
let port = 0;
const serverSide: WebSocket[] = [];

beforeAll(async () => {
  server = http.createServer((_req, res) => res.writeHead(404).end("no"));
  wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  server.on("upgrade", (req, socket, head) => {
    if (req.url === "/refuse") return void socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
    wss.handleUpgrade(req, socket, head, (ws) => {
      serverSide.push(ws);
      // An echo server: `echo:<text>` comes back as it was sent.
      ws.on("message", (d, isBinary) => {
        const s = d.toString();
        if (!isBinary && s.startsWith("echo:")) ws.send(s.slice(5));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const ws of serverSide) ws.terminate();
  wss.close();
  await new Promise((r) => server.close(r));
});

function open(path = "/"): Promise<{ client: LeanWs; peer: WebSocket; got: Buffer[] }> {
  const got: Buffer[] = [];
  const before = serverSide.length;
  return new Promise((resolve, reject) => {
    const client = new LeanWs({ host: "127.0.0.1", port, path });
    // listeners get a view valid during the call only: keep a copy
    client.on("message", (d: Buffer) => got.push(Buffer.from(d)));
    client.once("error", reject);
    client.once("open", () => {
      const wait = () => (serverSide.length > before ? resolve({ client, peer: serverSide[serverSide.length - 1]!, got }) : setTimeout(wait, 5));
      wait();
    });
  });
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("lean WebSocket client (load generator)", () => {
  it("lean ws - receives every message whole and in order, whatever their sizes and however reads cut them", async () => {
    const { client, peer, got } = await open();
    // 0 B to 1 MB: header lengths of 7, 16 and 64 bits, and messages larger than the shared read buffer
    const sizes = [0, 1, 125, 126, 65_535, 65_536, 70_000, 300_000, 1 << 20, 5, 200];
    const sent = sizes.map((n, i) => Buffer.alloc(n, 97 + (i % 26)));
    for (const b of sent) peer.send(b, { binary: false });
    // many small ones back to back: several per read
    for (let i = 0; i < 2_000; i++) sent.push(Buffer.from(`m${i}`));
    for (const b of sent.slice(sizes.length)) peer.send(b);
    await until(() => got.length === sent.length, "every message");
    expect(got.map((b) => b.length)).toEqual(sent.map((b) => b.length));
    expect(got.every((b, i) => b.equals(sent[i]!))).toBe(true);
    client.terminate();
  });

  it("lean ws - joins a fragmented message", async () => {
    const { client, peer, got } = await open();
    peer.send("Hello, ", { fin: false });
    peer.send("fragmented ", { fin: false });
    peer.send("world", { fin: true });
    peer.send("after");
    await until(() => got.length === 2, "two messages");
    expect(got.map(String)).toEqual(["Hello, fragmented world", "after"]);
    client.terminate();
  });

  it("lean ws - sends masked text frames the server reads, of every header length", async () => {
    const { client, got } = await open();
    const texts = ["x", "é".repeat(100), "y".repeat(70_000)];
    for (const t of texts) client.send(`echo:${t}`);
    await until(() => got.length === texts.length, "the echoes");
    expect(got.map((b) => b.toString("utf8"))).toEqual(texts);
    client.terminate();
  });

  it("lean ws - answers a ping with a pong carrying its payload", async () => {
    const { client, peer } = await open();
    const pong = new Promise<string>((r) => peer.once("pong", (d) => r(d.toString())));
    peer.ping("are-you-there");
    expect(await pong).toBe("are-you-there");
    client.terminate();
  });

  it("lean ws - completes the server's close handshake with its status code", async () => {
    const { client, peer } = await open();
    const closedClient = new Promise<void>((r) => client.once("close", () => r()));
    const closedPeer = new Promise<number>((r) => peer.once("close", (code) => r(code)));
    peer.close(4100, "slow_consumer");
    expect(await closedPeer).toBe(4100);
    await closedClient;
    expect(client.isOpen).toBe(false);
  });

  it("lean ws - an upgrade the server refuses is an error, then a close", async () => {
    const client = new LeanWs({ host: "127.0.0.1", port, path: "/refuse" });
    const err = await new Promise<Error>((r) => client.once("error", r));
    expect(err.message).toMatch(/upgrade refused: HTTP\/1\.1 403/);
    await new Promise<void>((r) => client.once("close", () => r()));
    expect(() => client.send("late")).toThrow(/not open/);
  });
});
