import { describe, expect, it } from "vitest";
import { FakeNode, fakePlatform, VirtualTime } from "../../property-tests/sdk_fake_node.ts";
import { AuthError, ReconnectError } from "./errors.ts";
import { StormClient } from "./storm_client.ts";
import type { ConnectionStatus } from "./connection_status.ts";

const rand = () => 0.5;

function setup(o: { down?: boolean; maxAttempts?: number; refreshToken?: () => Promise<string> } = {}) {
  const time = new VirtualTime();
  const node = new FakeNode(time, { rand, dropOnPub: 0, dedupe: true });
  if (o.down) node.crash();
  const states: ConnectionStatus[] = [];
  const client = new StormClient({
    url: "http://fake", token: "t", platform: fakePlatform(time, rand, "c"), createTransport: node.factory("alice"),
    backoff: { baseMs: 100, maxMs: 1_000, maxAttempts: o.maxAttempts ?? 5 }, fallbackAfter: 2, upgradeProbeMs: 5_000,
    ...(o.refreshToken ? { refreshToken: o.refreshToken } : {}),
  });
  client.on("status", (s) => states.push(s));
  return { time, node, client, states };
}

describe("StormClient (fake transports, virtual time)", () => {
  it("gives up after the bounded number of attempts: offline, and connect() rejects with a ReconnectError", async () => {
    const { time, client, states } = setup({ down: true, maxAttempts: 5 });
    let err: unknown;
    client.connect().catch((e: unknown) => (err = e));
    await time.run(() => err !== undefined, 600_000);
    expect(err).toBeInstanceOf(ReconnectError);
    expect((err as ReconnectError).code).toBe("attempts_exhausted");
    expect(client.status.state).toBe("offline");
    expect(Math.max(...states.map((s) => s.attempt))).toBe(5);
  });

  it("falls back after two failed opens per transport, in order, and counts from zero again once connected", async () => {
    const { time, node, client, states } = setup({ maxAttempts: 100 });
    node.blocked.add("websocket");
    node.blocked.add("sse");
    const connected = client.connect();
    await time.run(() => client.status.state === "connected", 600_000);
    await connected;
    expect(client.status.transport).toBe("poll");
    const tried = states.filter((s) => s.state === "connecting").map((s) => s.transport);
    expect([...new Set(tried)]).toEqual(["websocket", "sse", "poll"]);
    expect(client.status.attempt).toBe(0);
  });

  it("goes back to WebSocket when the probe finds it working again", async () => {
    const { time, node, client } = setup({ maxAttempts: 100 });
    node.blocked.add("websocket");
    void client.connect();
    await time.run(() => client.status.state === "connected", 600_000);
    expect(client.status.transport).toBe("sse");
    node.blocked.delete("websocket");
    await time.run(() => client.status.transport === "websocket" && client.status.state === "connected", 600_000);
    expect(client.status.transport).toBe("websocket");
  });

  it("a refused token without a refresh callback ends with an AuthError", async () => {
    const { time, node, client } = setup();
    node.refuseTokens = true;
    let err: unknown;
    client.connect().catch((e: unknown) => (err = e));
    await time.run(() => err !== undefined, 60_000);
    expect(err).toBeInstanceOf(AuthError);
    expect(client.status.state).toBe("offline");
  });
});
