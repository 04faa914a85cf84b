import { h } from "./dom.ts";

const KEY = "storm.session";

/** Who is signed in on this browser: every tab of it reads the same session. */
export interface SavedSession {
  token: string;
  /** Set for a development token: a new one can be asked for the same nickname when it expires. */
  nick?: string;
}

export function savedSession(): SavedSession | undefined {
  const raw = localStorage.getItem(KEY);
  return raw ? (JSON.parse(raw) as SavedSession) : undefined;
}

export function saveSession(s: SavedSession | undefined): void {
  if (s) localStorage.setItem(KEY, JSON.stringify(s));
  else localStorage.removeItem(KEY);
}

/** A development token for `nick` from the node (`POST /auth/dev-token`). */
export async function devToken(nick: string): Promise<string> {
  const res = await fetch("/auth/dev-token", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user: nick }) });
  const body = (await res.json()) as { token?: string; error?: { message: string } };
  if (!res.ok || !body.token) throw new Error(body.error?.message ?? `HTTP ${res.status}`);
  return body.token;
}

/** The sign-in screen: a nickname (development token) or a pasted token. */
export function signInForm(onDone: (s: SavedSession) => void): HTMLElement {
  const nick = h("input", { id: "nick", placeholder: "nickname", autocomplete: "off", autofocus: true, maxlength: 32 });
  const token = h("textarea", { id: "token", placeholder: "or paste a token (JWT)", rows: 3 });
  const error = h("p", { class: "error", id: "signin-error" });
  const form = h("form", { id: "signin", class: "signin" },
    h("h1", {}, "Storm chat"),
    h("p", { class: "hint" }, "Pick a nickname to get a development token from this node, or paste a token."),
    nick, token, h("button", { type: "submit" }, "Sign in"), error);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    error.textContent = "";
    const pasted = token.value.trim();
    if (pasted) return onDone({ token: pasted });
    const name = nick.value.trim();
    if (!name) return void (error.textContent = "Enter a nickname or a token");
    devToken(name).then((t) => onDone({ token: t, nick: name }), (err: Error) => (error.textContent = `Cannot sign in: ${err.message}`));
  });
  return form;
}
