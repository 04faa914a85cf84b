import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Message, RejectedError, StormClient, type StormClientOptions, type TransportKind } from "../../client/index.ts";
import { nodePlatform } from "../../client/platform/node.ts";
import { startStorm, type StormProcess } from "../harness/storm_process.ts";
import { until } from "../harness/until.ts";

/**
 * The SDK against a real node, one transport at a time (the same cases for WebSocket, SSE + POST
 * and long-poll): each test's client may use only `kind`, so a pass proves that transport.
 */
export function describeSdk(kind: TransportKind): void {
  describe(`sdk over ${kind}`, () => {
    let node: StormProcess;
    const clients: StormClient[] = [];
    let n = 0;

    beforeAll(async () => {
      node = await startStorm();
    });
    afterAll(async () => {
      for (const c of clients) c.close();
      await node?.stop();
    });

    const client = async (user: string, o: Partial<StormClientOptions> = {}): Promise<StormClient> => {
      const c = new StormClient({
        url: () => node.url,
        token: await node.token(user),
        platform: nodePlatform(),
        transports: [kind],
        // Unbounded here: a node restarting on a busy machine may take longer than a bounded run of short retries.
        backoff: { baseMs: 50, maxMs: 500, maxAttempts: Infinity },
        ...o,
      });
      clients.push(c);
      return c;
    };
    /** A fresh channel `alice` owns and `bob` joined. */
    const channel = async (): Promise<string> => {
      const ch = `c${kind}${++n}`;
      const a = await node.http("POST", "/channels", { token: await node.token("alice"), body: { name: ch } });
      expect(a.status).toBe(201);
      const b = await node.http("POST", `/channels/${ch}/members`, { token: await node.token("bob"), body: { user: "bob" } });
      expect(b.status).toBe(200);
      return ch;
    };
    const record = (c: StormClient, ch: string): Message[] => {
      const got: Message[] = [];
      c.channel(ch).on("message", (m) => got.push(m));
      return got;
    };

    /** A fresh channel, alice and bob connected, bob subscribed and recording what he receives. */
    const aliceToBob = async () => {
      const ch = await channel();
      const alice = await client("alice");
      const bob = await client("bob");
      await Promise.all([alice.connect(), bob.connect()]);
      const got = record(bob, ch);
      await bob.channel(ch).subscribe();
      return { ch, alice, bob, got };
    };

    it("publish resolves with the committed seq and a subscriber receives each message once, in order", async () => {
      const { ch, alice, got } = await aliceToBob();
      expect(alice.status.transport).toBe(kind);
      const acks = [];
      for (let i = 1; i <= 5; i++) acks.push(await alice.channel(ch).publish(`m${i}`));
      expect(acks.map((a) => [a.seq, a.dup])).toEqual([1, 2, 3, 4, 5].map((s) => [s, false]));
      await until(() => got.length >= 5, 10_000, "5 messages");
      expect(got.map((m) => [m.seq, m.body, m.from])).toEqual([1, 2, 3, 4, 5].map((s) => [s, `m${s}`, "alice"]));
    });

    it("edits, deletes and reactions commit through the queue and reach a subscriber as entries referring to their message", async () => {
      const { ch, alice, bob, got } = await aliceToBob();
      const a = alice.channel(ch);
      const { seq: first } = await a.publish("draft");
      const { seq: second } = await a.publish("oops");
      const edit = await a.edit(first, "final");
      const del = await a.delete(second);
      const react = await bob.channel(ch).react(first, "👍");
      expect([edit.seq, del.seq, react.seq]).toEqual([3, 4, 5]);
      await until(() => got.length >= 5, 10_000, "5 entries");
      expect(got.map((m) => [m.seq, m.from, m.kind, m.ref, m.body])).toEqual([
        [1, "alice", undefined, undefined, "draft"],
        [2, "alice", undefined, undefined, "oops"],
        [3, "alice", "edit", first, "final"],
        [4, "alice", "delete", second, ""],
        [5, "bob", "react", first, "👍"],
      ]);
      // History shows the messages in their current version.
      const page = await alice.channel(ch).history({ limit: 10 });
      expect(page.messages.filter((m) => m.kind === undefined)).toMatchObject([{ seq: 1, body: "final", edited: true, reactions: { "👍": 1 } }, { seq: 2, body: "", deleted: true }]);
      // Editing someone else's message is refused for good: a RejectedError, and it leaves the queue.
      await expect(bob.channel(ch).edit(first, "hijack")).rejects.toBeInstanceOf(RejectedError);
    });

    it("welcome carries the unread and mention counts of the user's channels", async () => {
      const ch = await channel();
      const alice = await client("alice");
      await alice.connect();
      await alice.channel(ch).publish("hello @bob");
      await alice.channel(ch).publish("anyone?");
      const bob = await client("bob");
      const welcome = new Promise<{ unread: Record<string, number>; mentions: Record<string, number> }>((resolve) => bob.on("welcome", resolve));
      await bob.connect();
      const w = await welcome;
      expect([w.unread[ch], w.mentions[ch]]).toEqual([2, 1]);
    });

    it("history pages backwards from the newest message", async () => {
      const ch = await channel();
      const alice = await client("alice");
      await alice.connect();
      for (let i = 1; i <= 7; i++) await alice.channel(ch).publish(`h${i}`);
      const newest = await alice.channel(ch).history({ limit: 3 });
      expect(newest.messages.map((m) => m.seq)).toEqual([5, 6, 7]);
      expect(newest.more).toBe(true);
      const older = await alice.channel(ch).history({ before: 5, limit: 10 });
      expect(older.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
      expect(older.more).toBe(false);
    });

    it("typing and read markers sent over this transport reach the others (WebSocket observers)", async () => {
      const ch = await channel();
      const alice = await client("alice");
      const aliceWs = await client("alice", { transports: ["websocket"] });
      const bob = await client("bob", { transports: ["websocket"] });
      await Promise.all([alice.connect(), aliceWs.connect(), bob.connect()]);
      const typing: string[] = [];
      bob.channel(ch).on("typing", (t) => typing.push(t.user));
      await bob.channel(ch).subscribe();
      await alice.channel(ch).subscribe();
      alice.channel(ch).typing();
      await until(() => typing.includes("alice"), 10_000, "alice typing");
      const reads: number[] = [];
      aliceWs.on("read", (r) => r.ch === ch && reads.push(r.seq));
      const { seq } = await bob.channel(ch).publish("read me");
      alice.channel(ch).markRead(seq);
      await until(() => reads.includes(seq), 10_000, "the read marker on alice's WebSocket connection");
    });

    it("events reach a client on this transport: presence, typing, the user's read markers", async (ctx) => {
      // PROTOCOL.md: long-polls do not announce presence and get no `user` events; their channel events are best effort.
      if (kind === "poll") return ctx.skip();
      const ch = await channel();
      const alice = await client("alice", { transports: ["websocket"] });
      const alice2 = await client("alice");
      const bob = await client("bob");
      await Promise.all([alice.connect(), alice2.connect(), bob.connect()]);
      const typing: string[] = [];
      const online: string[] = [];
      bob.channel(ch).on("typing", (t) => typing.push(t.user));
      bob.channel(ch).on("presence", (p) => p.online && online.push(p.user));
      await bob.channel(ch).subscribe();
      await alice.channel(ch).subscribe();
      await until(() => online.includes("alice"), 10_000, "alice online");
      alice.channel(ch).typing();
      await until(() => typing.includes("alice"), 10_000, "alice typing");
      const reads: number[] = [];
      alice2.on("read", (r) => r.ch === ch && reads.push(r.seq));
      const { seq } = await bob.channel(ch).publish("read me");
      alice.channel(ch).markRead(seq);
      await until(() => reads.includes(seq), 10_000, "the read marker on alice's other connection");
      expect((await alice.channel(ch).members()).online).toContain("alice");
    });

    it("subscribing to a channel the user may not read fails with a RejectedError and leaves the others flowing", async () => {
      const ch = await channel();
      const other = await channel();
      const carol = await client("carol");
      await carol.connect();
      const err = await carol.channel(ch).subscribe().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RejectedError);
      expect((err as RejectedError).code).toBe("not_member");
      expect(carol.channel(ch).subscribed).toBe(false);
      const joined = await node.http("POST", `/channels/${other}/members`, { token: await node.token("carol"), body: { user: "carol" } });
      expect(joined.status).toBe(200);
      const got = record(carol, other);
      await carol.channel(other).subscribe();
      const alice = await client("alice");
      await alice.connect();
      await alice.channel(other).publish("still flowing");
      await until(() => got.length >= 1, 10_000, "a message on the readable channel");
      expect(got.map((m) => m.body)).toEqual(["still flowing"]);
    });

    it("a publish to a channel the user is not a member of fails with a RejectedError (not_member)", async () => {
      const ch = await channel();
      const carol = await client("carol");
      await carol.connect();
      const err = await carol.channel(ch).publish("hi").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RejectedError);
      expect((err as RejectedError).code).toBe("not_member");
    });

    it("a refused token is replaced by the refresh callback's and the client connects", async () => {
      let refreshed = 0;
      const alice = await client("alice", { token: "not-a-jwt", refreshToken: async () => (refreshed++, node.token("alice")) });
      await alice.connect();
      expect(refreshed).toBe(1);
      expect(alice.user).toBe("alice");
    });

    it("across a node crash (SIGKILL) and restart: queued publishes commit once, in order, and the subscriber sees no gap and no repeat", async () => {
      const { ch, alice, got } = await aliceToBob();
      // Subscribed, alice has a request outstanding on every transport (a long-poll too), so she notices the crash.
      await alice.channel(ch).subscribe();
      for (let i = 1; i <= 3; i++) await alice.channel(ch).publish(`before${i}`);
      await until(() => got.length >= 3, 10_000, "3 messages before the crash");
      await node.kill("SIGKILL");
      await until(() => alice.status.state === "connecting", 10_000, "alice to notice the crash");
      const queued = [1, 2, 3, 4].map((i) => alice.channel(ch).publish(`offline${i}`));
      await node.restart();
      const acks = await Promise.all(queued);
      expect(acks.map((a) => a.seq)).toEqual([4, 5, 6, 7]);
      await until(() => got.length >= 7, 20_000, "7 messages after the restart");
      expect(got.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(got.slice(3).map((m) => m.body)).toEqual(["offline1", "offline2", "offline3", "offline4"]);
      const all = await alice.channel(ch).history({ after: 0 });
      expect(all.messages.map((m) => m.body)).toEqual(["before1", "before2", "before3", "offline1", "offline2", "offline3", "offline4"]);
    });
  });
}
