import type { ActorFactory } from "../runtime/core/actor.ts";
import { ChannelActor, type ChannelActorOptions, defaultChannelOptions } from "./channel_actor.ts";
import { SessionActor } from "./session_actor.ts";
import { DEFAULT_SYNC_LIMITS } from "./session_actor.ts";
import type { SyncQueueLimits } from "./sync_queue.ts";

/** The actor kinds Storm hosts, by the `kind` part of their id. */
export function actorFactories(channel: ChannelActorOptions = defaultChannelOptions, sync: SyncQueueLimits = DEFAULT_SYNC_LIMITS): Record<string, ActorFactory> {
  return {
    channel: (ctx) => new ChannelActor(ctx, channel),
    session: (ctx) => new SessionActor(ctx, sync),
  };
}
