import type { ConnectionStatus } from "../../client/index.ts";
import type { ChatApp } from "./chat_app.ts";
import type { ChatMessage } from "./chat_store.ts";
import { actionText } from "../../client/chat_commands.ts";
import { byId, h } from "./dom.ts";

/** The chat screen's fixed skeleton; `render` fills its parts. */
export function chatSkeleton(me: string, onSignOut: () => void): HTMLElement {
  return h("div", { class: "chat" },
    h("aside", { class: "sidebar" },
      h("header", { class: "me" }, h("span", { class: "avatar" }, me.slice(0, 1).toUpperCase()), h("strong", { id: "me" }, me), h("button", { class: "link", id: "signout", onclick: onSignOut }, "Sign out")),
      h("h2", {}, "Channels"),
      h("ul", { id: "channels", class: "rooms" }),
      h("form", { id: "join-form", class: "mini-form" }, h("input", { id: "join-input", placeholder: "#channel", autocomplete: "off" }), h("button", {}, "Join")),
      h("h2", {}, "Direct messages"),
      h("ul", { id: "dms", class: "rooms" }),
      h("form", { id: "dm-form", class: "mini-form" }, h("input", { id: "dm-input", placeholder: "nickname", autocomplete: "off" }), h("button", {}, "Open")),
      h("footer", { id: "status" })),
    h("main", { class: "room" },
      h("header", { class: "room-header" }, h("h1", { id: "room-title" }), h("span", { id: "room-topic", class: "topic" }), h("span", { id: "room-online", class: "online" }), h("button", { id: "leave", class: "link" }, "Leave")),
      h("div", { id: "messages", class: "messages" }),
      h("div", { id: "typing", class: "typing" }),
      h("div", { id: "notice", class: "notice" }),
      h("form", { id: "composer-form", class: "composer" }, h("input", { id: "composer", autocomplete: "off", placeholder: "Message — /join #chan, /msg nick text, /me, /topic, /leave" }), h("button", {}, "Send"))));
}

/** Redraws the chat from the store (cheap enough for a page of messages per channel). */
export function render(app: ChatApp): void {
  const s = app.store;
  const rooms = [...s.channels.keys()].sort();
  for (const [id, names] of [["channels", rooms.filter((r) => !r.startsWith("dm:"))], ["dms", rooms.filter((r) => r.startsWith("dm:"))]] as const) {
    replaceIfChanged(byId(id), JSON.stringify([s.current, names.map((ch) => [ch, s.unread(ch), s.mentions(ch)])]), () => names.map((ch) => {
      const unread = s.unread(ch);
      const mentions = s.mentions(ch);
      return h("li", { "data-ch": ch, class: ch === s.current ? "active" : undefined, onclick: () => app.select(ch) },
        h("span", { class: "name" }, s.label(ch)),
        mentions > 0 && h("span", { class: "mention", title: "mentions of you" }, `@${mentions}`),
        unread > 0 && h("span", { class: "badge" }, String(unread)));
    }));
  }
  renderStatus(app.client.status);
  const ch = s.current;
  const view = ch ? s.channels.get(ch) : undefined;
  byId("room-title").textContent = ch ? s.label(ch) : "No channel";
  byId("room-topic").textContent = view?.topic ?? "";
  byId("room-online").textContent = view ? `${view.online.size} online${view.online.size ? `: ${[...view.online].sort().join(", ")}` : ""}` : "";
  byId("leave").hidden = !ch;
  renderMessages(app, view?.messages ?? [], view?.more ?? false);
  const typing = view ? [...view.typing.keys()] : [];
  byId("typing").textContent = typing.length ? `${typing.join(", ")} ${typing.length > 1 ? "are" : "is"} typing…` : "";
  byId("notice").textContent = s.notice;
  const composer = byId("composer");
  composer.classList.toggle("editing", app.editing !== undefined);
  composer.setAttribute("placeholder", app.editing !== undefined ? "Edit the message — Enter saves, Escape cancels" : ch ? `Message ${s.label(ch)} — /join #chan, /msg nick text, /me, /topic, /leave` : "/join #general to start");
}

function renderStatus(st: ConnectionStatus): void {
  const el = byId("status");
  el.dataset["state"] = st.state;
  el.dataset["transport"] = st.transport;
  el.replaceChildren(h("span", { class: "dot" }), `${st.transport} · ${st.state}${st.rtt !== undefined ? ` · ${st.rtt} ms` : ""}${st.attempt > 0 ? ` · retry ${st.attempt}` : ""}`);
}

function renderMessages(app: ChatApp, msgs: ChatMessage[], more: boolean): void {
  const list = byId("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const firstBefore = list.querySelector<HTMLElement>(".msg[data-seq]");
  const anchor = firstBefore ? { seq: firstBefore.dataset["seq"], top: firstBefore.offsetTop - list.scrollTop } : undefined;
  const ch = app.store.current;
  const changed = replaceIfChanged(list, JSON.stringify([ch, more, msgs.map((m) => [m.seq, m.cid, m.state, m.body, m.edited, m.deleted, m.reactions])]), () => [
    ...(more && ch ? [h("button", { id: "older", class: "older", onclick: () => void app.loadOlder(ch) }, "Load older messages")] : []),
    ...msgs.map((m) => messageRow(m, app)),
  ]);
  if (!changed) return;
  if (atBottom) list.scrollTop = list.scrollHeight;
  else if (anchor) {
    // Older messages were added above: keep the one that was on top where it was.
    const same = list.querySelector<HTMLElement>(`.msg[data-seq="${anchor.seq}"]`);
    if (same) list.scrollTop = same.offsetTop - anchor.top;
  }
}

/** A reaction and its count: a click adds this user's, or takes it back when it is theirs. */
function reactionChip(app: ChatApp, seq: number | undefined, emoji: string, n: number, live: boolean): HTMLElement {
  const mine = seq !== undefined && app.store.current !== undefined && app.store.reacted(app.store.current, seq, emoji);
  return h("button", { class: `reaction${mine ? " mine" : ""}`, "data-emoji": emoji, title: mine ? "Take your reaction back" : "React too",
    onclick: () => live && seq !== undefined && app.change(seq, { kind: mine ? "unreact" : "react", emoji }) }, `${emoji} ${n}`);
}

function messageRow(m: ChatMessage, app: ChatApp): HTMLElement {
  const mine = m.from === app.store.me;
  const action = m.deleted ? undefined : actionText(m.body);
  const time = new Date(m.ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
  const seq = m.seq;
  const live = seq !== undefined && !m.deleted;
  return h("div", { class: `msg ${m.state}${mine ? " mine" : ""}${action !== undefined ? " action" : ""}${m.deleted ? " deleted" : ""}`, "data-seq": seq, "data-cid": m.cid },
    h("span", { class: "time" }, m.state === "pending" ? "sending…" : m.state === "failed" ? "not sent" : time),
    action !== undefined
      ? h("span", { class: "body" }, `* ${m.from} ${action}`)
      : h("span", { class: "line" }, h("span", { class: "from" }, m.from), h("span", { class: "body" }, m.deleted ? "message deleted" : m.body)),
    m.edited && !m.deleted && h("span", { class: "edited" }, "(edited)"),
    Object.keys(m.reactions).length > 0 && h("span", { class: "reactions" }, ...Object.entries(m.reactions).map(([emoji, n]) =>
      reactionChip(app, seq, emoji, n, live))),
    live && h("span", { class: "actions" },
      h("button", { class: "react", title: "React with 👍", onclick: () => app.change(seq, { kind: "react", emoji: "👍" }) }, "👍"),
      mine && h("button", { class: "edit", title: "Edit", onclick: () => startEdit(app, seq, m.body) }, "Edit"),
      mine && h("button", { class: "delete", title: "Delete", onclick: () => app.change(seq, { kind: "delete" }) }, "Delete")));
}

/** Puts the composer in edit mode for message `seq`: the next Enter saves the new text. */
function startEdit(app: ChatApp, seq: number, body: string): void {
  const composer = byId<HTMLInputElement>("composer");
  app.editing = seq;
  composer.value = body;
  composer.focus();
  app.store.changed();
}

/** Rebuilds `el`'s children only when `key` (what they show) changed, so nothing flickers or moves under the pointer. */
function replaceIfChanged(el: HTMLElement, key: string, children: () => Node[]): boolean {
  if (el.dataset["key"] === key) return false;
  el.dataset["key"] = key;
  el.replaceChildren(...children());
  return true;
}
