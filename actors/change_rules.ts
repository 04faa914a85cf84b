import { RejectedError } from "../runtime/core/errors.ts";
import type { EntryKind, JournalEntry } from "../storage/store.ts";
import { access, type ChannelState } from "./channel_state.ts";
import type { ChannelMsg } from "./messages.ts";
import type { MessageState } from "./message_view.ts";

/** Messages that refer to an earlier message: they need it looked up before they are journaled. */
export type ChangeMsg =
  | Extract<ChannelMsg, { type: "edit" | "delete" | "react" }>
  | (Extract<ChannelMsg, { type: "publish" }> & { parent: number });

export function isChange(msg: ChannelMsg): msg is ChangeMsg {
  return msg.type === "edit" || msg.type === "delete" || msg.type === "react" || (msg.type === "publish" && msg.parent !== undefined);
}

/** The seq a change refers to. */
export function changeRef(msg: ChangeMsg): number {
  return msg.type === "publish" ? msg.parent : msg.ref;
}

/**
 * The entry a change journals, once allowed (G8): only a message (not a change) can be changed;
 * a deleted one no more; its author edits it; its author or a moderator or the owner deletes it;
 * members not muted react and reply; a reply names a thread's root, not another reply.
 * `target` is the entry at the ref (undefined: none retained), `st` its current state.
 */
export function changeEntry(
  s: ChannelState,
  msg: ChangeMsg,
  target: JournalEntry | undefined,
  st: MessageState | undefined,
  now: number,
): { kind?: EntryKind; ref: number; body: string } {
  const ref = changeRef(msg);
  if (msg.type === "delete") access.requireMember(s, msg.user);
  else access.requireCanPost(s, msg.user, now);
  if (!target || !st || (target.kind ?? "msg") !== "msg") {
    throw new RejectedError("not_found", `No message at seq ${ref} in "${s.name}"`);
  }
  if (st.deleted) throw new RejectedError("not_found", `Message ${ref} in "${s.name}" was deleted`);
  switch (msg.type) {
    case "edit":
      if (target.sender !== msg.user) throw new RejectedError("forbidden", `Only its author may edit message ${ref}`);
      return { kind: "edit", ref, body: msg.body };
    case "delete":
      if (target.sender !== msg.user) access.requireRole(s, msg.user, "moderator", "delete others' messages");
      return { kind: "delete", ref, body: "" };
    case "react":
      return { kind: msg.remove ? "unreact" : "react", ref, body: msg.emoji };
    case "publish":
      if (target.ref !== undefined) throw new RejectedError("bad_request", `Message ${ref} is a reply: reply in its thread (${target.ref})`);
      return { ref, body: msg.body };
  }
}
