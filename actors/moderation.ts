import { RejectedError } from "../runtime/core/errors.ts";
import { access, type ChannelState, isDm } from "./channel_state.ts";
import type { ChannelMsg, EdgeEvent } from "./messages.ts";

export type ModerationMsg = Extract<ChannelMsg, { type: "visibility" | "role" | "kick" | "ban" | "mute" }>;

/** Longest mute: 30 days. */
export const MAX_MUTE_MS = 30 * 24 * 3600 * 1000;

export interface ModerationOutcome {
  state: ChannelState;
  /** For live subscribers. */
  event?: EdgeEvent;
  /** A member removed from the channel, and why. */
  removed?: { user: string; reason: "kicked" | "banned" };
}

export function isModeration(msg: ChannelMsg): msg is ModerationMsg {
  return msg.type === "visibility" || msg.type === "role" || msg.type === "kick" || msg.type === "ban" || msg.type === "mute";
}

/**
 * A moderation command applied to the channel's state (G8): who may do it, and what it changes.
 * The owner sets visibility and roles; moderators and the owner kick, ban and mute anyone of a
 * lower role. Pure: the channel actor persists the new state, then announces it.
 */
export function moderate(s: ChannelState, msg: ModerationMsg, now: number): ModerationOutcome {
  const ch = s.name;
  switch (msg.type) {
    case "visibility":
      access.requireRole(s, msg.user, "owner", "change the visibility");
      if (isDm(s)) throw new RejectedError("forbidden", `A direct conversation stays private`);
      return { state: { ...s, visibility: msg.visibility }, event: { type: "visibility", ch, visibility: msg.visibility, user: msg.user } };
    case "role": {
      access.requireRole(s, msg.user, "owner", "change roles");
      requireMemberTarget(s, msg.member);
      if (msg.member === msg.user) throw new RejectedError("forbidden", `The owner of "${ch}" cannot change their own role`);
      return { state: { ...s, members: { ...s.members, [msg.member]: msg.role } }, event: { type: "role", ch, member: msg.member, role: msg.role, user: msg.user } };
    }
    case "kick": {
      access.requireOutranks(s, msg.user, msg.member, "kick");
      requireMemberTarget(s, msg.member);
      return { state: without(s, msg.member), removed: { user: msg.member, reason: "kicked" } };
    }
    case "ban": {
      if (msg.unban) {
        access.requireRole(s, msg.user, "moderator", "unban");
        const banned = { ...s.banned };
        delete banned[msg.member];
        return { state: { ...s, banned } };
      }
      access.requireOutranks(s, msg.user, msg.member, "ban");
      const state = { ...without(s, msg.member), banned: { ...s.banned, [msg.member]: now } };
      return s.members[msg.member] ? { state, removed: { user: msg.member, reason: "banned" } } : { state };
    }
    case "mute": {
      access.requireOutranks(s, msg.user, msg.member, "mute");
      requireMemberTarget(s, msg.member);
      const muted = { ...s.muted };
      const until = msg.ms > 0 ? now + Math.min(msg.ms, MAX_MUTE_MS) : 0;
      if (until > 0) muted[msg.member] = until;
      else delete muted[msg.member];
      return { state: { ...s, muted }, event: { type: "mute", ch, member: msg.member, until, user: msg.user } };
    }
  }
}

function requireMemberTarget(s: ChannelState, member: string): void {
  if (!s.members[member]) throw new RejectedError("not_member", `User "${member}" is not a member of "${s.name}"`);
}

/** The state without `user` as a member (nor muted: a mute ends with the membership). */
function without(s: ChannelState, user: string): ChannelState {
  const members = { ...s.members };
  delete members[user];
  const muted = { ...s.muted };
  delete muted[user];
  return { ...s, members, muted };
}
