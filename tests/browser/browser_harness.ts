import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { startStorm, type StormProcess } from "../harness/storm_process.ts";

/** The part of the page's `document` that functions passed to `page.waitForFunction` use (they run in the page, not in Node). */
export interface PageDocument {
  querySelector(s: string): { textContent: string | null } | null;
  querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> & Iterable<{ textContent: string | null }>;
}
declare const document: PageDocument;

const CHROMIUM = process.env["STORM_CHROMIUM"] ?? "/usr/bin/chromium";

/** Headless Debian Chromium, as CI installs it (`apt-get install -y chromium`). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Cannot run the browser tests: ${CHROMIUM} is missing (apt-get install -y chromium, or set STORM_CHROMIUM)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** A port free now on 127.0.0.1, so a node restarted after a crash comes back where the page expects it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Opens the app and signs in with a nickname; resolves once connected. */
export async function signIn(page: Page, base: string, nick: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.fill("#nick", nick);
  await page.click("#signin button[type=submit]");
  await connected(page);
}

export async function connected(page: Page, transport?: string): Promise<void> {
  await page.waitForSelector(`#status[data-state="connected"]${transport ? `[data-transport="${transport}"]` : ""}, #status[data-state="degraded"]${transport ? `[data-transport="${transport}"]` : ""}`, { timeout: 30_000 });
}

/** Types a composer line and sends it. */
export async function say(page: Page, line: string): Promise<void> {
  await page.fill("#composer", line);
  await page.press("#composer", "Enter");
}

/** The open channel's messages as `from: body` (committed) or `pending: body` lines. */
export function lines(page: Page): Promise<string[]> {
  return page.$$eval("#messages .msg", (els) =>
    els.map((e) => `${e.classList.contains("pending") ? "pending" : (e.querySelector(".from")?.textContent ?? "*")}: ${e.querySelector(".body")?.textContent ?? ""}`));
}

/** Waits until the open channel's message bodies (committed ones) are exactly `bodies`. */
export async function showsExactly(page: Page, bodies: string[], timeout = 30_000): Promise<void> {
  try {
    await page.waitForFunction((want) => {
      const got = [...document.querySelectorAll("#messages .msg.committed .body")].map((e) => e.textContent);
      return JSON.stringify(got) === JSON.stringify(want);
    }, bodies, { timeout });
  } catch (err) {
    throw new Error(`Expected the messages ${JSON.stringify(bodies)}, the page shows ${JSON.stringify(await lines(page))}`, { cause: err });
  }
}

/** Opens the sidebar entry of `ch` (`general`, or `dm:a:b`). */
export async function open(page: Page, ch: string): Promise<void> {
  await page.bringToFront();
  await page.click(`li[data-ch="${ch}"]`);
  await page.waitForSelector(`li[data-ch="${ch}"].active`);
}

/** The unread badge of `ch` in the sidebar (0 when there is none). */
export async function unread(page: Page, ch: string): Promise<number> {
  const t = await page.$eval(`li[data-ch="${ch}"]`, (li) => li.querySelector(".badge")?.textContent ?? "0").catch(() => "0");
  return Number(t);
}

export async function waitUnread(page: Page, ch: string, n: number, timeout = 20_000): Promise<void> {
  await page.waitForFunction(([c, want]) => Number(document.querySelector(`li[data-ch="${c}"] .badge`)?.textContent ?? "0") === want && !!document.querySelector(`li[data-ch="${c}"]`), [ch, n] as const, { timeout });
}

/** A node serving the app and a headless Chromium, for the tests of one file (read them inside the tests). */
export function nodeAndBrowser(): { node(): StormProcess; browser(): Browser } {
  let node: StormProcess | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    node = await startStorm();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await node?.stop();
  });
  return { node: () => node!, browser: () => browser! };
}

/** Signs each page in (as its nickname) and joins `ch` there, creating it on the first. */
export async function signInAndJoin(base: string, ch: string, users: Array<[Page, string]>): Promise<void> {
  for (const [page, nick] of users) {
    await signIn(page, base, nick);
    await say(page, `/join #${ch}`);
    await page.waitForSelector(`li[data-ch="${ch}"].active`);
  }
}

/** Hovers the committed message with `body` and clicks its action button (`edit`, `delete`, `react`). */
export async function action(page: Page, body: string, button: "edit" | "delete" | "react"): Promise<void> {
  const row = page.locator("#messages .msg.committed", { has: page.locator(".body", { hasText: body }) });
  await row.hover();
  await row.locator(`.actions button.${button}`).click();
}
