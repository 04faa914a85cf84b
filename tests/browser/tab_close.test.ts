import type { BrowserContext, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { connected, nodeAndBrowser, type PageDocument, say, showsExactly, signInAndJoin } from "./browser_harness.ts";

declare const document: PageDocument;
declare const indexedDB: { open(name: string): { result: IdbLike; onsuccess: (() => void) | null; onerror: (() => void) | null } };
interface IdbLike {
  transaction(store: string): { objectStore(s: string): { getAll(): { result: Array<{ body: string }>; onsuccess: (() => void) | null } } };
  close(): void;
}

/**
 * A publish queued offline in one tab (stored in IndexedDB), then that tab closed before it could
 * send it: another tab of the same browser, open already or opened later, adopts the entry and
 * sends it with its original client id, so it commits exactly once (G3): not lost, not doubled.
 */
describe("web app in Chromium: a tab closed with a queued publish", () => {
  const { node, browser } = nodeAndBrowser();

  it("another tab sends it once, and so does a tab opened after the last one closed", async () => {
    const ctx = await browser().newContext();
    const first = await ctx.newPage();
    const reader = await (await browser().newContext()).newPage();
    await signInAndJoin(node().url, "tabs", [[first, "kate"], [reader, "liam"]]);
    await say(first, "before");
    await showsExactly(reader, ["before"]);

    // Another tab of kate's is open while the first one queues offline and closes.
    const second = await openTab(ctx, node().url);
    await queueAndClose(ctx, first, "from a closed tab");
    await showsExactly(reader, ["before", "from a closed tab"]);
    await showsExactly(second, ["before", "from a closed tab"]);

    // The last tab closes with a queued publish; a tab opened later sends it.
    await queueAndClose(ctx, second, "from the last tab");
    const third = await openTab(ctx, node().url);
    await showsExactly(reader, ["before", "from a closed tab", "from the last tab"]);
    await showsExactly(third, ["before", "from a closed tab", "from the last tab"]);
    await outboxHolds(third, []);

    // The journal has each once: the adopted entries kept their client ids.
    const hist = await node().http("GET", "/channels/tabs/messages?after=0", { token: await node().token("kate") });
    expect((hist.body as { messages: Array<{ body: string }> }).messages.map((m) => m.body)).toEqual(["before", "from a closed tab", "from the last tab"]);
    await ctx.close();
    await reader.context().close();
  });
});

/** Offline, `page` writes `body` (kept in IndexedDB) and is closed before it could send it; then back online. */
async function queueAndClose(ctx: BrowserContext, page: Page, body: string): Promise<void> {
  await ctx.setOffline(true);
  await page.waitForSelector('#status[data-state="offline"]');
  await say(page, body);
  await outboxHolds(page, [body]);
  await page.close();
  await ctx.setOffline(false);
}

/** A new tab of the signed-in user: the app signs in again from the saved session and opens #tabs. */
async function openTab(ctx: BrowserContext, base: string): Promise<Page> {
  const page = await ctx.newPage();
  await page.goto(`${base}/`);
  await connected(page);
  await page.click('li[data-ch="tabs"]');
  await page.waitForSelector('li[data-ch="tabs"].active');
  return page;
}

/** Waits until the browser's outbox (IndexedDB, shared by the tabs) holds exactly these bodies. */
async function outboxHolds(page: Page, bodies: string[]): Promise<void> {
  await page.waitForFunction(async (want) => {
    const db = await new Promise<IdbLike>((resolve, reject) => {
      const req = indexedDB.open("storm-outbox");
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(new Error("cannot open the outbox"));
    });
    const all = await new Promise<Array<{ body: string }>>((resolve) => {
      const r = db.transaction("entries").objectStore("entries").getAll();
      r.onsuccess = () => resolve(r.result);
    });
    db.close();
    return JSON.stringify(all.map((e) => e.body).sort()) === JSON.stringify([...want].sort());
  }, bodies, { timeout: 20_000 });
}
