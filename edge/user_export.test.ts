import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPgliteStore } from "../storage/pglite_store.ts";
import type { JournalEntry, Store } from "../storage/store.ts";
import type { UserDataStore } from "../storage/user_data_store.ts";
import type { ActorGateway } from "./gateway.ts";
import { streamExport } from "./user_export.ts";

/**
 * The export is streamed: read page by page from a real (in-memory PGlite) store and written as
 * each page comes. The gateway is a hand-written fake: only the session's view is asked of it.
 */
describe("user export", () => {
  const N = 3_000;
  const PAGE = 50;
  let store: Store & UserDataStore;
  let server: Server;
  let url: string;
  /** Store reads of the export, and how many bytes the response had written when each ran. */
  const reads: Array<{ rows: number; writtenBefore: number }> = [];
  let written = 0;

  const actors: ActorGateway = {
    edgeId: "edge:test",
    tell() {},
    ask: async <T>(_to: string, msg: unknown) =>
      ((msg as { type: string }).type === "get" ? { user: "exa", channels: ["ex-a"], reads: { "ex-a": 7 }, connections: 2 } : { items: [{ n: 1, type: "note" }] }) as T,
  };

  beforeAll(async () => {
    store = await openPgliteStore(undefined);
    for (const [ch, senders] of [["channel:ex-a", ["exa", "exb"]], ["channel:ex-b", ["exb", "exa"]]] as const) {
      const epoch = await store.acquireEpoch(ch, "n1");
      const entries: JournalEntry[] = Array.from({ length: N }, (_, i) => ({ seq: i + 1, clientId: `k${i}`, sender: senders[i % 2]!, body: `${ch} ${i + 1}`, ts: 1_700_000_000_000 + i }));
      for (let i = 0; i < N; i += 500) expect(await store.append(ch, epoch, entries.slice(i, i + 500))).toEqual({ ok: true });
      expect(await store.saveSnapshot(ch, epoch, { seq: N, state: { owner: senders[0], visibility: "public", members: { exa: ch.endsWith("a") ? "owner" : "member", exb: "member" } } })).toBe(true);
    }
    const counting: UserDataStore = {
      userMessages: async (...args) => {
        const writtenBefore = written;
        const page = await store.userMessages(...args);
        reads.push({ rows: page.length, writtenBefore });
        return page;
      },
      memberships: (...args) => store.memberships(...args),
      userChannels: (...args) => store.userChannels(...args),
      sessionsMentioning: (...args) => store.sessionsMentioning(...args),
      dropActors: (...args) => store.dropActors(...args),
      recordAudit: (...args) => store.recordAudit(...args),
      listAudit: (...args) => store.listAudit(...args),
    };
    server = createServer((_req, res) => {
      const write = res.write.bind(res) as (chunk: string) => boolean;
      res.write = ((chunk: string) => {
        written += Buffer.byteLength(chunk);
        return write(chunk);
      }) as typeof res.write;
      void streamExport(res, actors, counting, "exa", { pageSize: PAGE });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  }, 60_000);

  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    await store?.close();
  });

  it("export - a user's thousands of messages arrive as one JSON document, read a small page at a time, each written before the next is read", async () => {
    const res = await fetch(url);
    expect(res.headers.get("content-type")).toBe("application/json");
    const chunks: Buffer[] = [];
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const doc = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    expect(doc.user).toBe("exa");
    expect(doc.session).toEqual({ channels: ["ex-a"], reads: { "ex-a": 7 }, connections: 2 });
    expect(doc.sync).toEqual([{ n: 1, type: "note" }]);
    expect(doc.memberships).toEqual([
      { channel: "ex-a", role: "owner", owner: true, visibility: "public" },
      { channel: "ex-b", role: "member", owner: false, visibility: "public" },
    ]);
    expect(doc.messages).toHaveLength(N);
    expect(doc.counts).toEqual({ memberships: 2, messages: N });
    expect(doc.messages[0]).toEqual({ channel: "ex-a", seq: 1, cid: "k0", ts: 1_700_000_000_000, body: "channel:ex-a 1" });
    expect(doc.messages.every((m: { body: string; seq: number; channel: string }) => m.body === `channel:${m.channel} ${m.seq}`)).toBe(true);
    // One read per page of at most PAGE rows (and a last, empty one), never the whole set at once...
    expect(reads).toHaveLength(N / PAGE + 1);
    expect(Math.max(...reads.map((r) => r.rows))).toBe(PAGE);
    // ...and each page was written out before the next was read: when the last (empty) page was
    // read, all but the document's closing bytes had been written. Nothing accumulates.
    for (let i = 1; i < reads.length; i++) expect(reads[i]!.writtenBefore).toBeGreaterThan(reads[i - 1]!.writtenBefore);
    expect(total - reads.at(-1)!.writtenBefore).toBeLessThan(100);
  }, 60_000);
});
