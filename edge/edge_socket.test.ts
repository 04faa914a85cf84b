import { Buffer } from "node:buffer";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { EdgeWebSocket } from "./edge_socket.ts";
import { until } from "../tests/harness/until.ts";
import { SharedBytes } from "./shared_frame.ts";

let wss: WebSocketServer | undefined;
afterEach(async () => {
  for (const c of wss?.clients ?? []) c.terminate();
  await new Promise((r) => (wss ? wss.close(r) : r(undefined)));
  wss = undefined;
});

/** A real server using the edge's socket class, a real client, and the server side of their connection. */
async function pair(): Promise<{ server: EdgeWebSocket; client: WebSocket; received: string[] }> {
  wss = new WebSocketServer({ port: 0, host: "127.0.0.1", WebSocket: EdgeWebSocket, perMessageDeflate: false });
  await new Promise((r) => wss!.once("listening", r));
  const accepted = new Promise<EdgeWebSocket>((r) => wss!.once("connection", (ws) => r(ws as EdgeWebSocket)));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  const received: string[] = [];
  client.on("message", (d, isBinary) => received.push(`${isBinary ? "bin" : "text"}:${String(d)}`));
  await new Promise((r) => client.once("open", r));
  return { server: await accepted, client, received };
}

describe("EdgeWebSocket.sendFrame", () => {
  it("delivers frames built once, of every length encoding, in order with send", async () => {
    const { server, received } = await pair();
    // 7-bit, 16-bit and 64-bit lengths, each at its edges.
    const sizes = [0, 1, 125, 126, 65_535, 65_536, 200_000];
    const expected: string[] = [];
    for (const [i, n] of sizes.entries()) {
      // UTF-8 bytes, not characters, make the length: every body but the shortest starts with an
      // "é" (2 bytes, 1 character), so it is n bytes in n - 1 characters.
      const ascii = `${i}:`.padEnd(Math.max(n, 2), String.fromCharCode(97 + i)).slice(0, n);
      const body = n >= 2 ? `é${ascii.slice(2)}` : ascii;
      expect([Buffer.byteLength(body), body.length]).toEqual([n, n >= 2 ? n - 1 : n]);
      server.sendFrame(SharedBytes.ofText(body).wire);
      server.send(`reply ${i}`, { binary: false });
      expected.push(`text:${body}`, `text:reply ${i}`);
    }
    await until(() => received.length === expected.length, 5_000, `${expected.length} messages`);
    expect(received.map((r) => r.slice(0, 40))).toEqual(expected.map((r) => r.slice(0, 40)));
    expect(received).toEqual(expected);
  });

  it("counts what it writes in bufferedAmount, and drops a frame once the socket is closing", async () => {
    const { server, client, received } = await pair();
    const big = SharedBytes.ofParts([Buffer.alloc(8 << 20, 120)]).wire;
    server.sendFrame(big);
    expect(server.bufferedAmount).toBeGreaterThan(0);
    server.close(1000, "bye");
    expect(() => server.sendFrame(SharedBytes.ofText("late").wire)).not.toThrow();
    await new Promise((r) => client.once("close", r));
    expect(received).toHaveLength(1);
    expect(received[0]).toHaveLength("text:".length + (8 << 20));
  });
});
