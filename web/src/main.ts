import { AuthError, StormClient } from "../../client/index.ts";
import { browserPlatform } from "../../client/platform/browser.ts";
import { ChatApp } from "./chat_app.ts";
import { byId } from "./dom.ts";
import { devToken, type SavedSession, savedSession, saveSession, signInForm } from "./sign_in.ts";
import { chatSkeleton, render } from "./views.ts";

const root = byId("app");

function showSignIn(): void {
  root.replaceChildren(signInForm((s) => {
    saveSession(s);
    void start(s);
  }));
}

async function start(session: SavedSession): Promise<void> {
  const client = new StormClient({
    url: location.origin,
    token: session.token,
    // A development token can be renewed for the same nickname; a pasted one cannot.
    refreshToken: session.nick ? () => devToken(session.nick!).then((t) => (saveSession({ ...session, token: t }), t)) : undefined,
    platform: await browserPlatform(),
    backoff: { maxMs: 5_000, maxAttempts: Infinity },
  });
  client.on("error", (e) => {
    if (e instanceof AuthError) signOut(client);
  });
  const app = new ChatApp(client);
  try {
    await client.connect();
  } catch {
    return signOut(client);
  }
  root.replaceChildren(chatSkeleton(client.user!, () => signOut(client)));
  wire(app);
  let queued = false;
  app.store.onChange(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      render(app);
    });
  });
  app.store.changed();
}

function wire(app: ChatApp): void {
  const composer = byId<HTMLInputElement>("composer");
  byId("composer-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const line = composer.value;
    composer.value = "";
    void app.submit(line);
  });
  composer.addEventListener("input", () => app.typing());
  composer.addEventListener("keydown", (ev) => {
    if (ev.key !== "Escape" || app.editing === undefined) return;
    app.editing = undefined;
    composer.value = "";
    app.store.changed();
  });
  const mini = (form: string, input: string, run: (v: string) => Promise<void>) =>
    byId(form).addEventListener("submit", (ev) => {
      ev.preventDefault();
      const el = byId<HTMLInputElement>(input);
      const v = el.value.trim();
      el.value = "";
      if (v) void run(v).catch((err: Error) => ((app.store.notice = err.message), app.store.changed()));
    });
  mini("join-form", "join-input", (v) => app.submit(`/join ${v.startsWith("#") ? v : `#${v}`}`));
  mini("dm-form", "dm-input", (v) => app.openDm(v));
  byId("leave").addEventListener("click", () => void (app.store.current && app.leave(app.store.current)));
  document.addEventListener("visibilitychange", () => app.markCurrentRead());
  // Typing indicators expire by time.
  setInterval(() => app.store.expireTyping(Date.now()) && app.store.changed(), 1_000);
}

function signOut(client: StormClient): void {
  client.close();
  saveSession(undefined);
  showSignIn();
}

const saved = savedSession();
if (saved) void start(saved);
else showSignIn();
