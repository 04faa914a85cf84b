import { isTombstone, type JournalEntry } from "../storage/store.ts";
import { type ChannelState, isDm } from "./channel_state.ts";
import type { SessionMsg, ViewEntry } from "./messages.ts";

/** What the entries referring to one message made of it, folded in seq order. */
export interface MessageState {
  body: string;
  edited: boolean;
  deleted: boolean;
  /** Per emoji, the users reacting with it now: a user counts once however often they react. */
  reactions: Map<string, Set<string>>;
  replies: number;
}

/** Folds `refs` (ascending; others than those referring to `msg` are skipped) into `msg`'s current state. */
export function messageState(msg: JournalEntry, refs: readonly JournalEntry[]): MessageState {
  const st: MessageState = { body: msg.body, edited: false, deleted: false, reactions: new Map(), replies: 0 };
  for (const e of refs) {
    if (e.ref !== msg.seq || e.seq <= msg.seq) continue;
    switch (e.kind ?? "msg") {
      case "msg":
        st.replies++;
        break;
      case "edit":
        st.body = e.body;
        st.edited = true;
        break;
      case "delete":
        st.deleted = true;
        break;
      case "react": {
        // An erased user's reaction names no one and no emoji: it no longer counts.
        if (isTombstone(e)) break;
        const users = st.reactions.get(e.body) ?? new Set<string>();
        st.reactions.set(e.body, users.add(e.sender));
        break;
      }
      case "unreact":
        st.reactions.get(e.body)?.delete(e.sender);
        break;
    }
  }
  return st;
}

/**
 * The seqs whose referring entries `currentView` needs for `page`: its messages, and the
 * messages its edits change (an edit of a message deleted since loses its text).
 */
export function viewTargets(page: readonly JournalEntry[]): number[] {
  const out = new Set<number>();
  for (const e of page) {
    const kind = e.kind ?? "msg";
    if (kind === "msg") out.add(e.seq);
    else if (kind === "edit" && e.ref !== undefined) out.add(e.ref);
  }
  return [...out];
}

/**
 * `page` as history shows it: every entry keeps its seq (resume and paging still count on them),
 * a message shows its current version (`edited`, a tombstone once `deleted`, reaction counts,
 * reply count), and an edit of a deleted message loses its text. `refs`: the entries referring
 * to `viewTargets(page)`, ascending.
 */
export function currentView(page: readonly JournalEntry[], refs: readonly JournalEntry[]): ViewEntry[] {
  const byTarget = new Map<number, JournalEntry[]>();
  for (const e of refs) {
    if (e.ref === undefined) continue;
    const list = byTarget.get(e.ref);
    if (list) list.push(e);
    else byTarget.set(e.ref, [e]);
  }
  const deleted = (seq: number) => byTarget.get(seq)?.some((e) => e.kind === "delete") ?? false;
  return page.map((e): ViewEntry => {
    const kind = e.kind ?? "msg";
    if (kind === "edit" && e.ref !== undefined && deleted(e.ref)) return { ...e, body: "" };
    if (kind !== "msg") return e;
    const st = messageState(e, byTarget.get(e.seq) ?? []);
    // An erased message keeps only its place: its thread's size, no edit flag, no reactions to it.
    if (isTombstone(e)) return st.replies > 0 ? { ...e, replies: st.replies } : e;
    if (st.deleted) return { ...e, body: "", deleted: true, ...(st.replies > 0 ? { replies: st.replies } : {}) };
    const v: ViewEntry = { ...e, body: st.body };
    if (st.edited) v.edited = true;
    const reactions: Record<string, number> = {};
    for (const [emoji, users] of st.reactions) if (users.size > 0) reactions[emoji] = users.size;
    if (Object.keys(reactions).length > 0) v.reactions = reactions;
    if (st.replies > 0) v.replies = st.replies;
    return v;
  });
}

const MENTION = /(?:^|[^A-Za-z0-9_.-])@([A-Za-z0-9][A-Za-z0-9_.-]{0,31})/g;

/** The members a body names as `@nick`, without `except` (the sender), each once. */
export function mentionsIn(body: string, members: Readonly<Record<string, unknown>>, except: string): string[] {
  if (!body.includes("@")) return [];
  const out = new Set<string>();
  for (const m of body.matchAll(MENTION)) {
    // A trailing dot ends a sentence, not a nickname: "thanks @bob."
    const nick = m[1]!.replace(/\.+$/, "");
    if (nick !== except && Object.hasOwn(members, nick)) out.add(nick);
  }
  return [...out];
}

/**
 * Who must hear of `entries` whatever they subscribed to: in a direct conversation, the other
 * member of each new message (`dm`); elsewhere, each member a message names (`mention`).
 */
export function notices(s: ChannelState, entries: readonly JournalEntry[]): Array<{ user: string; msg: SessionMsg }> {
  const out: Array<{ user: string; msg: SessionMsg }> = [];
  const dm = isDm(s);
  for (const e of entries) {
    if (e.kind !== undefined && e.kind !== "msg") continue;
    const to = dm ? Object.keys(s.members).filter((m) => m !== e.sender) : mentionsIn(e.body, s.members, e.sender);
    for (const user of to) out.push({ user, msg: { type: "notify", ev: dm ? "dm" : "mention", ch: s.name, seq: e.seq, from: e.sender } });
  }
  return out;
}
