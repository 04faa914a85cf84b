import type { Channel } from "./channel.ts";
import type { ServerFrame } from "./protocol.ts";
import type { StormClientEvents } from "./storm_client_events.ts";

type Emit = <K extends keyof StormClientEvents>(event: K, ...args: Parameters<StormClientEvents[K]>) => void;

/**
 * Hands a server event frame (no reply, no delivery) to its channel handle or to the client:
 * `presence`, `typing`, `member`, `topic` go to the channel, `user` events to the client. Returns
 * false for any other frame.
 */
export function dispatchServerEvent(f: ServerFrame, channel: (ch: string) => Channel | undefined, emit: Emit): boolean {
  switch (f.t) {
    case "presence":
      channel(f.ch)?.dispatch("presence", { user: f.user, online: f.online });
      return true;
    case "typing":
      channel(f.ch)?.dispatch("typing", { user: f.user });
      return true;
    case "member":
      channel(f.ch)?.dispatch("member", { user: f.user, joined: f.joined });
      return true;
    case "topic":
      channel(f.ch)?.dispatch("topic", { topic: f.topic, user: f.user });
      return true;
    case "user":
      if (f.ev === "read") emit("read", { ch: f.ch, seq: f.seq });
      else if (f.ev === "left") emit("channels", { ch: f.ch, joined: false });
      // An invitation or a first direct message makes the user a member: the channel joins their list.
      else if (f.ev === "joined" || f.ev === "invited" || f.ev === "dm") emit("channels", { ch: f.ch, joined: true });
      return true;
    default:
      return false;
  }
}
