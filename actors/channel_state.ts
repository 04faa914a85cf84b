import { RejectedError } from "../runtime/core/errors.ts";
import type { ChannelInfo, Visibility } from "./messages.ts";

export type Role = "owner" | "member";

/** The durable metadata of a channel (its snapshot): who may read and write, and its topic. */
export interface ChannelState {
  created: boolean;
  name: string;
  visibility: Visibility;
  topic: string;
  owner: string;
  createdAt: number;
  members: Record<string, Role>;
}

export function emptyChannel(name: string): ChannelState {
  return { created: false, name, visibility: "public", topic: "", owner: "", createdAt: 0, members: {} };
}

/** Access rules (G8). Every check throws a typed rejection the client can act on. */
export const access = {
  requireExists(s: ChannelState): void {
    if (!s.created) throw new RejectedError("channel_not_found", `Channel "${s.name}" does not exist`);
  },
  requireMember(s: ChannelState, user: string): void {
    access.requireExists(s);
    if (!s.members[user]) throw new RejectedError("not_member", `User "${user}" is not a member of "${s.name}"`);
  },
  /** Public channels are open to anyone; private ones only to members (or invitees, added by a member). */
  requireCanJoin(s: ChannelState, user: string): void {
    access.requireExists(s);
    if (s.visibility === "private" && !s.members[user]) {
      throw new RejectedError("forbidden", `Channel "${s.name}" is private: ask a member to invite you`);
    }
  },
  /** Private channels hide even their metadata from non-members. */
  requireCanSee(s: ChannelState, user: string): void {
    access.requireExists(s);
    if (s.visibility === "private" && !s.members[user]) {
      throw new RejectedError("channel_not_found", `Channel "${s.name}" does not exist`);
    }
  },
};

export function channelInfo(s: ChannelState, last: number): ChannelInfo {
  return {
    name: s.name,
    visibility: s.visibility,
    topic: s.topic,
    owner: s.owner,
    members: Object.keys(s.members).length,
    last,
    createdAt: s.createdAt,
  };
}
