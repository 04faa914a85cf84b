import type { ActivationGate, ActorFactory } from "../runtime/core/actor.ts";
import { parseActorId } from "../runtime/core/actor_id.ts";
import { RejectedError } from "../runtime/core/errors.ts";
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

/**
 * A channel exists once created (its snapshot is written by `create`): anything else sent to a
 * channel that was never created is answered `channel_not_found` without activating it, as the
 * activation would (tells to it, e.g. presence, are dropped).
 */
export const channelGate: ActivationGate = {
  creates: (msg) => (msg as { type?: string }).type === "create",
  exists: async (store, id) => (await store.loadSnapshot(id)) !== null,
  missing: (id) => new RejectedError("channel_not_found", `Channel "${parseActorId(id).key}" does not exist`),
};

export const actorGates: Readonly<Record<string, ActivationGate>> = { channel: channelGate };
