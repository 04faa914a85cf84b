import { createHmac } from "node:crypto";
import type { SessionView } from "../actors/messages.ts";
import type { UserDataStore } from "../storage/user_data_store.ts";
import { type ActorGateway, channelActor, sessionActor } from "./gateway.ts";

export interface ErasureReport {
  audit: number;
  messages: number;
  channels: number;
  memberships: number;
  directChannels: number;
}

/** Channels erased in parallel: enough to overlap round trips, few enough not to flood the workers. */
const PARALLEL = 8;

/**
 * Erases a user (right to erasure). In order:
 * 1. the user's session forgets them and closes their connections (`account_erased`);
 * 2. every channel where they wrote or are a member erases them through its actor: their messages
 *    become tombstones (seq kept; others' messages and seqs untouched), in the store and in the
 *    actor's memory, and they leave it; a direct conversation, whose very name holds theirs, is
 *    emptied; every other session that names them (the other party of such a conversation, an
 *    `/api/sync` event they sent) forgets it;
 * 3. the rows left under ids that name them (their session, their direct conversations) are
 *    deleted, fencing any activation still alive;
 * 4. an audit record says it happened: who asked, when, counts, and a keyed hash of the name.
 * Each step is idempotent, so an erasure that failed midway is completed by asking again.
 */
export class UserEraser {
  constructor(
    private readonly actors: ActorGateway,
    private readonly store: UserDataStore,
    private readonly hashKey: Uint8Array,
  ) {}

  /** A keyed hash of a name: confirms that a known name was erased, without storing it. */
  subjectHash(user: string): string {
    return createHmac("sha256", this.hashKey).update(`erased-user:${user}`).digest("hex");
  }

  async erase(user: string, requestedBy: string): Promise<ErasureReport> {
    const session = await this.actors.ask<Pick<SessionView, "channels">>(sessionActor(user), { type: "erase" });
    const ids = new Set(await this.store.userChannels(user));
    for (const ch of session.channels) ids.add(channelActor(ch));
    const channels = [...ids].sort();
    const dms = channels.filter((id) => isDmOf(id, user));
    let messages = 0;
    let memberships = 0;
    for (let i = 0; i < channels.length; i += PARALLEL) {
      const part = channels.slice(i, i + PARALLEL);
      const outcomes = await Promise.all(part.map((id) =>
        this.actors.ask<{ erased: number; member: boolean }>(id, { type: "erase", user, drop: dms.includes(id) })));
      for (const o of outcomes) {
        messages += o.erased;
        if (o.member) memberships++;
      }
    }
    // Other users' sessions that name the user: the other party of each direct conversation, and
    // any whose stored state mentions the name (e.g. an `/api/sync` event the user sent them).
    const dmNames = dms.map((id) => id.slice("channel:".length));
    const sessions = new Set(await this.store.sessionsMentioning(user));
    for (const ch of dmNames) for (const u of ch.split(":").slice(1)) if (u !== user) sessions.add(sessionActor(u));
    sessions.delete(sessionActor(user));
    for (const id of [...sessions].sort()) await this.actors.ask(id, { type: "forget", user, channels: dmNames });
    await this.store.dropActors([sessionActor(user), ...dms]);
    const audit = await this.store.recordAudit({
      action: "erase_user",
      actor: requestedBy,
      subjectHash: this.subjectHash(user),
      details: { messages, channels: channels.length, memberships, directChannels: dms.length },
    });
    return { audit: audit.id, messages, channels: channels.length, memberships, directChannels: dms.length };
  }
}

function isDmOf(actorId: string, user: string): boolean {
  const parts = actorId.split(":");
  return parts.length === 4 && parts[1] === "dm" && (parts[2] === user || parts[3] === user);
}
