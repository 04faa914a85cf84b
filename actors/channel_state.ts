import { RejectedError } from "../runtime/core/errors.ts";
import type { ChannelInfo, Role, Visibility } from "./messages.ts";
import type { RetentionPolicy } from "./retention.ts";

export type { Role };

const RANK: Record<Role, number> = { owner: 3, moderator: 2, member: 1 };

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
  /** Presence changes are saved as webhook events (membership changes always are). */
  hooks?: { presence: true };
  /** Banned users (ms of the ban): not members, and may not join or be invited until unbanned. */
  banned?: Record<string, number>;
  /** Muted members: until when (ms) they may not publish, reply, edit or react. */
  muted?: Record<string, number>;
}

export function emptyChannel(name: string): ChannelState {
  return { created: false, name, visibility: "public", topic: "", owner: "", createdAt: 0, members: {} };
}

/** A direct conversation (`dm:<a>:<b>`): its two members are fixed and equal. */
export function isDm(s: ChannelState): boolean {
  return s.name.startsWith("dm:");
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
  /** Public channels are open to anyone not banned; private ones only to members (invitees are added by a member). */
  requireCanJoin(s: ChannelState, user: string): void {
    access.requireCanSee(s, user);
    access.requireNotBanned(s, user);
  },
  requireNotBanned(s: ChannelState, user: string): void {
    if (s.banned?.[user] !== undefined) throw new RejectedError("banned", `User "${user}" is banned from "${s.name}"`);
  },
  /** Private channels hide even their metadata from non-members. */
  requireCanSee(s: ChannelState, user: string): void {
    access.requireExists(s);
    if (s.visibility === "private" && !s.members[user]) {
      throw new RejectedError("channel_not_found", `Channel "${s.name}" does not exist`);
    }
  },
  /** A member who may write now: publish, reply, edit, react. */
  requireCanPost(s: ChannelState, user: string, now: number): void {
    access.requireMember(s, user);
    const until = s.muted?.[user];
    if (until !== undefined && until > now) {
      throw new RejectedError("muted", `User "${user}" is muted in "${s.name}" until ${new Date(until).toISOString()} (${until})`);
    }
  },
  /** A member with at least role `min`. */
  requireRole(s: ChannelState, user: string, min: Role, what: string): void {
    access.requireMember(s, user);
    if (RANK[s.members[user]!] < RANK[min]) throw new RejectedError("forbidden", `Only a channel ${min} or above may ${what} in "${s.name}"`);
  },
  /** A moderator or owner acting on a user of a lower role (or on a non-member, who has none). */
  requireOutranks(s: ChannelState, user: string, target: string, what: string): void {
    access.requireRole(s, user, "moderator", what);
    if (isDm(s)) throw new RejectedError("forbidden", `Cannot ${what} in a direct conversation`);
    const theirs = s.members[target];
    if (target === user || (theirs !== undefined && RANK[theirs] >= RANK[s.members[user]!])) {
      throw new RejectedError("forbidden", `A channel ${s.members[user]} cannot ${what} "${target}" (role ${theirs ?? "none"}) in "${s.name}"`);
    }
  },
  /** Topic: moderators and the owner; in a direct conversation, either member. */
  requireCanSetTopic(s: ChannelState, user: string): void {
    if (isDm(s)) access.requireMember(s, user);
    else access.requireRole(s, user, "moderator", "change the topic");
  },
  /**
   * Invitations: any member of a public channel; a moderator or the owner of a private one; in a
   * direct conversation only its other participant, back in. A banned user is never invited.
   */
  requireCanInvite(s: ChannelState, user: string, member: string): void {
    access.requireMember(s, user);
    if (isDm(s)) {
      if (!s.name.split(":").slice(1).includes(member)) throw new RejectedError("forbidden", `Cannot invite a third user into the direct conversation "${s.name}"`);
    } else if (s.visibility === "private") {
      access.requireRole(s, user, "moderator", "invite");
    }
    access.requireNotBanned(s, member);
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
