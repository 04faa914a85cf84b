import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStorm, type StormProcess } from "../harness/storm_process.ts";
import { action, connected, freePort, launchChromium, lines, open, type PageDocument, say, showsExactly, signIn, unread, waitUnread } from "./browser_harness.ts";

declare const document: PageDocument;

/**
 * The chat web app in real headless Chromium against a real node serving it (web/dist at `/`).
 * Each test uses its own channel names; users are separate browser contexts (own storage), and
 * tabs of one user are pages of one context (shared IndexedDB, BroadcastChannel, Web Locks).
 */
describe("web app in Chromium", () => {
  let node: StormProcess;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    const port = await freePort();
    // A fixed port: after a crash the node comes back where the pages are.
    node = await startStorm({ args: ["--port", String(port)] });
    base = node.url;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await node?.stop();
  });

  it("two users chat: channel, live messages both ways, a DM with an unread badge", async () => {
    const alice = await (await browser.newContext({ viewport: { width: 1100, height: 640 } })).newPage();
    const bob = await (await browser.newContext({ viewport: { width: 1100, height: 640 } })).newPage();
    await signIn(alice, base, "alice");
    await signIn(bob, base, "bob");
    await say(alice, "/join #general");
    await alice.waitForSelector('li[data-ch="general"].active');
    await say(alice, "/topic Storm chat: say hi");
    await say(bob, "/join #general");
    await bob.waitForSelector('li[data-ch="general"].active');
    await say(alice, "hello bob");
    await showsExactly(bob, ["hello bob"]);
    await say(bob, "hi alice! the new client works");
    await say(alice, "/me waves");
    await showsExactly(alice, ["hello bob", "hi alice! the new client works", "* alice waves"]);
    await showsExactly(bob, ["hello bob", "hi alice! the new client works", "* alice waves"]);
    await bob.waitForFunction(() => document.querySelector("#room-topic")?.textContent === "Storm chat: say hi");
    await say(alice, "/msg bob psst, a direct message");
    await waitUnread(bob, "dm:alice:bob", 1);
    expect(await bob.$eval('li[data-ch="dm:alice:bob"] .name', (e) => e.textContent)).toBe("@alice");
    await alice.waitForSelector('#messages .msg.committed');
    if (process.env["STORM_SCREENSHOT"]) {
      await open(alice, "general");
      await say(bob, "typing indicators, presence, read markers: all live");
      await action(bob, "hello bob", "react");
      await alice.waitForFunction(() => document.querySelector('#messages .msg .reaction[data-emoji="👍"]')?.textContent === "👍 1");
      await showsExactly(alice, ["hello bob", "hi alice! the new client works", "* alice waves", "typing indicators, presence, read markers: all live"]);
      await bob.type("#composer", "looks good");
      await alice.waitForFunction(() => document.querySelector("#typing")?.textContent?.includes("bob is typing"));
      const docs = fileURLToPath(new URL("../../docs/", import.meta.url));
      mkdirSync(docs, { recursive: true });
      await alice.screenshot({ path: `${docs}screenshot.png` });
    }
    await open(bob, "dm:alice:bob");
    await showsExactly(bob, ["psst, a direct message"]);
    await waitUnread(bob, "dm:alice:bob", 0);
    await alice.context().close();
    await bob.context().close();
  });

  it("one user in two tabs stays in sync: publishes and read markers", async () => {
    const ctx = await browser.newContext();
    const tab1 = await ctx.newPage();
    await signIn(tab1, base, "carol");
    await say(tab1, "/join #tabs-a");
    await say(tab1, "/join #tabs-b");
    await tab1.waitForSelector('li[data-ch="tabs-b"].active');
    const tab2 = await ctx.newPage();
    await tab2.goto(`${base}/`);
    await connected(tab2);
    await tab2.waitForSelector('li[data-ch="tabs-a"]');
    await open(tab2, "tabs-b");
    await say(tab1, "from tab one");
    await showsExactly(tab2, ["from tab one"]);
    // Dave writes in tabs-a while both tabs look at tabs-b: both show it unread.
    const dave = await (await browser.newContext()).newPage();
    await signIn(dave, base, "dave");
    await say(dave, "/join #tabs-a");
    await dave.waitForSelector('li[data-ch="tabs-a"].active');
    await say(dave, "news in a");
    await waitUnread(tab1, "tabs-a", 1);
    await waitUnread(tab2, "tabs-a", 1);
    // Tab one reads it; tab two, which never opened tabs-a since, sees it read.
    await open(tab1, "tabs-a");
    await waitUnread(tab2, "tabs-a", 0);
    expect(await unread(tab1, "tabs-a")).toBe(0);
    await ctx.close();
    await dave.context().close();
  });

  for (const blocked of [["websocket"], ["websocket", "sse"]] as const) {
    const fallback = blocked.length === 1 ? "sse" : "poll";
    it(`${blocked.join(" and ")} blocked: the app falls back to ${fallback} and still chats both ways`, async () => {
      const actx = await browser.newContext();
      await actx.routeWebSocket(/\/ws/, (ws) => void ws.close({ code: 1008, reason: "blocked by the test" }));
      if (blocked.length > 1) await actx.route(/\/sse/, (route) => route.abort());
      const ivan = await actx.newPage();
      const judy = await (await browser.newContext()).newPage();
      await signIn(ivan, base, "ivan");
      await connected(ivan, fallback);
      await signIn(judy, base, "judy");
      const ch = `fallback-${fallback}`;
      await say(ivan, `/join #${ch}`);
      await ivan.waitForSelector(`li[data-ch="${ch}"].active`);
      await say(judy, `/join #${ch}`);
      await judy.waitForSelector(`li[data-ch="${ch}"].active`);
      await say(ivan, `over ${fallback}`);
      await showsExactly(judy, [`over ${fallback}`]);
      await say(judy, "over websocket");
      await showsExactly(ivan, [`over ${fallback}`, "over websocket"]);
      expect(await ivan.getAttribute("#status", "data-transport")).toBe(fallback);
      await actx.close();
      await judy.context().close();
    });
  }

  it("offline: publishes wait as pending, then are delivered once and in order when back online", async () => {
    const actx = await browser.newContext();
    const alice = await actx.newPage();
    const bob = await (await browser.newContext()).newPage();
    await signIn(alice, base, "erin");
    await signIn(bob, base, "frank");
    await say(alice, "/join #offline");
    await alice.waitForSelector('li[data-ch="offline"].active');
    await say(bob, "/join #offline");
    await bob.waitForSelector('li[data-ch="offline"].active');
    await say(alice, "online 1");
    await showsExactly(bob, ["online 1"]);
    await actx.setOffline(true);
    await alice.waitForSelector('#status[data-state="offline"]');
    for (const t of ["queued 1", "queued 2", "queued 3"]) await say(alice, t);
    await alice.waitForFunction(() => document.querySelectorAll("#messages .msg.pending").length === 3);
    expect(await lines(alice)).toEqual(["erin: online 1", "pending: queued 1", "pending: queued 2", "pending: queued 3"]);
    await actx.setOffline(false);
    await showsExactly(bob, ["online 1", "queued 1", "queued 2", "queued 3"]);
    await showsExactly(alice, ["online 1", "queued 1", "queued 2", "queued 3"]);
    expect(await lines(alice)).toEqual(["erin: online 1", "erin: queued 1", "erin: queued 2", "erin: queued 3"]);
    await actx.close();
    await bob.context().close();
  });

  it("the node killed (SIGKILL) and restarted mid-conversation: nothing lost, nothing shown twice, queued publishes delivered once", async () => {
    const alice = await (await browser.newContext()).newPage();
    const bob = await (await browser.newContext()).newPage();
    await signIn(alice, base, "gina");
    await signIn(bob, base, "hugo");
    await say(alice, "/join #crash");
    await alice.waitForSelector('li[data-ch="crash"].active');
    await say(bob, "/join #crash");
    await bob.waitForSelector('li[data-ch="crash"].active');
    await say(alice, "before 1");
    await say(bob, "before 2");
    await showsExactly(alice, ["before 1", "before 2"]);
    await node.kill("SIGKILL");
    await alice.waitForSelector('#status:not([data-state="connected"])');
    await say(alice, "during 1");
    await say(bob, "during 2");
    await say(alice, "during 3");
    await alice.waitForFunction(() => document.querySelectorAll("#messages .msg.pending").length === 2);
    await node.restart();
    const a = await settled(alice);
    const b = await settled(bob);
    // The same five messages, once each, in the same (seq) order on both pages.
    expect(a).toEqual(b);
    expect(a.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(a.slice(0, 2).map((m) => m.body)).toEqual(["before 1", "before 2"]);
    expect(a.slice(2).map((m) => m.body).sort()).toEqual(["during 1", "during 2", "during 3"]);
    const bodies = a.map((m) => m.body);
    expect(bodies.indexOf("during 1")).toBeLessThan(bodies.indexOf("during 3"));
    // The node's journal agrees: each queued publish committed exactly once.
    const hist = await node.http("GET", "/channels/crash/messages?after=0", { token: await node.token("gina") });
    expect((hist.body as { messages: Array<{ seq: number; body: string }> }).messages.map((m) => [m.seq, m.body])).toEqual(a.map((m) => [m.seq, m.body]));
    await alice.context().close();
    await bob.context().close();
  });
});

/** Waits until the page shows five committed messages and no pending one, then returns them. */
async function settled(page: Page): Promise<Array<{ seq: number; body: string }>> {
  try {
    await page.waitForFunction(() => document.querySelectorAll("#messages .msg.committed").length >= 5 && document.querySelectorAll("#messages .msg.pending").length === 0, undefined, { timeout: 45_000 });
  } catch (err) {
    throw new Error(`The page did not settle on 5 messages: it shows ${JSON.stringify(await lines(page))}, status ${await page.textContent("#status")}`, { cause: err });
  }
  return page.$$eval("#messages .msg.committed", (els) => els.map((e) => ({ seq: Number(e.getAttribute("data-seq")), body: e.querySelector(".body")?.textContent ?? "" })));
}
