import type { ActorId } from "../runtime/core/actor_id.ts";

/** What the edge needs from the actor system: send, ask, and its own address for events. */
export interface ActorGateway {
  readonly edgeId: string;
  tell(to: ActorId, msg: unknown): void;
  ask<T>(to: ActorId, msg: unknown, timeoutMs?: number): Promise<T>;
}

export const channelActor = (ch: string): ActorId => `channel:${ch}`;
export const sessionActor = (user: string): ActorId => `session:${user}`;

/** The channel of a direct conversation: both names, sorted, so both sides find the same one. */
export function dmChannel(a: string, b: string): string {
  return a < b ? `dm:${a}:${b}` : `dm:${b}:${a}`;
}
