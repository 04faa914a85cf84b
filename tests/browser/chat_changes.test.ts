import { describe, expect, it } from "vitest";
import { action, lines, nodeAndBrowser, type PageDocument, say, showsExactly, signIn, signInAndJoin, unread } from "./browser_harness.ts";

declare const document: PageDocument;

/**
 * The chat features in the web app, in real headless Chromium: the unread and mention counts of
 * `welcome` in the sidebar right after sign-in, and edits, deletes and reactions made in one
 * browser shown live in another.
 */
describe("web app in Chromium: counts, edits, deletes, reactions", () => {
  const { node, browser } = nodeAndBrowser();

  it("after sign-in the sidebar shows the server's unread and mention counts, also beyond the first page of history", async () => {
    const carol = await node().token("carol");
    // The app opens the first channel (and reads it): the backlog is another one.
    for (const name of ["a-lobby", "backlog"]) expect((await node().http("POST", "/channels", { token: carol, body: { name, members: ["carol", "dave"] } })).status).toBe(201);
    // 60 messages while dave is away: more than the app's first history page (50), so only the
    // server's count can be right; the one mention is among the oldest, outside that page.
    for (let i = 1; i <= 60; i++) {
      const body = i === 3 ? "@dave please look at this" : `backlog ${i}`;
      expect((await node().http("POST", "/channels/backlog/messages", { token: carol, body: { clientId: `backlog-${i}`, body } })).status).toBe(201);
    }
    const dave = await (await browser().newContext()).newPage();
    await signIn(dave, node().url, "dave");
    await dave.waitForFunction(() => document.querySelector('li[data-ch="backlog"] .badge')?.textContent === "60", undefined, { timeout: 20_000 });
    expect(await dave.textContent('li[data-ch="backlog"] .mention')).toBe("@1");
    // Reading the channel clears both.
    await dave.click('li[data-ch="backlog"]');
    await dave.waitForFunction(() => !document.querySelector('li[data-ch="backlog"] .badge') && !document.querySelector('li[data-ch="backlog"] .mention'), undefined, { timeout: 20_000 });
    expect(await unread(dave, "backlog")).toBe(0);
    await dave.context().close();
  });

  it("an edit, a delete and a reaction made in the UI show live in the other user's browser", async () => {
    const alice = await (await browser().newContext()).newPage();
    const bob = await (await browser().newContext()).newPage();
    await signInAndJoin(node().url, "changes", [[alice, "alice"], [bob, "bob"]]);
    await say(alice, "first draft");
    await say(alice, "a mistake");
    await showsExactly(bob, ["first draft", "a mistake"]);

    await action(alice, "first draft", "edit");
    expect(await alice.inputValue("#composer")).toBe("first draft");
    await alice.fill("#composer", "final text");
    await alice.press("#composer", "Enter");
    await showsExactly(bob, ["final text", "a mistake"]);
    await bob.waitForSelector('#messages .msg.committed:first-of-type .edited');

    await action(alice, "a mistake", "delete");
    await bob.waitForSelector("#messages .msg.deleted");
    await showsExactly(bob, ["final text", "message deleted"]);

    await action(bob, "final text", "react");
    await alice.waitForFunction(() => document.querySelector('#messages .msg .reaction[data-emoji="👍"]')?.textContent === "👍 1");
    // The sender's own view and the server's history agree.
    await showsExactly(alice, ["final text", "message deleted"]);
    expect(await lines(alice)).toEqual(["alice: final text", "alice: message deleted"]);
    const hist = await node().http("GET", "/channels/changes/messages?after=0", { token: await node().token("alice") });
    const current = (hist.body as { messages: Array<{ body: string; kind?: string; edited?: boolean; deleted?: boolean; reactions?: Record<string, number> }> }).messages.filter((m) => m.kind === undefined);
    expect(current).toMatchObject([{ body: "final text", edited: true, reactions: { "👍": 1 } }, { body: "", deleted: true }]);
    await alice.context().close();
    await bob.context().close();
  });
});
