import { RejectedError } from "../runtime/core/errors.ts";
import type { ChannelInfo, Visibility } from "./messages.ts";
import type { RetentionPolicy } from "./retention.ts";

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
  /** The channel's own retention policy; absent, the server's default applies. */
  retention?: RetentionPolicy;
}

export function emptyChannel(name: string): ChannelState {
  return { created: false, name, visibility: "public", topic: "", owner: "", createdAt: 0, members: {} };
}

/** Access rules (G8). Every check throws a typed rejection the client can act on. */
export const access = {
  requireExists(s: ChannelState): void {
    if (!s.created) throw new RejectedError("channel_not_found", `Channel "${s.name}" does not exist`);
  },
  /** Outsiders of a private channel get the same answer as for a missing one: no existence leak. */
  requireMember(s: ChannelState, user: string): void {
    access.requireCanSee(s, user);
    if (!s.members[user]) throw new RejectedError("not_member", `User "${user}" is not a member of "${s.name}"`);
  },
  /** Public channels are open to anyone; private ones only to members (invitees are added by a member). */
  requireCanJoin(s: ChannelState, user: string): void {
    access.requireCanSee(s, user);
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
