import type { Envelope } from "./actor.ts";
import { ActorHost, type ActorHostOptions, tellEnvelope } from "./actor_host.ts";
import { toWireError } from "./errors.ts";
import { Outbox } from "./outbox.ts";
import type { PortLike } from "./platform.ts";
import { type Frame, Op } from "./wire.ts";

/**
 * The actor side of a worker thread: turns incoming frame batches into mailbox envelopes and sends
 * replies, outbound tells and life-cycle notices back to the parent, batched per loop turn.
 */
export function startWorkerRuntime(
  port: PortLike,
  defer: (fn: () => void) => void,
  opts: Omit<ActorHostOptions, "send" | "onLifecycle">,
): ActorHost {
  const out = new Outbox<Frame>(port, defer);
  const host = new ActorHost({
    ...opts,
    send: (to, msg) => out.push([Op.Out, to, msg]),
    onLifecycle: (event) => out.push([Op.Life, event]),
  });
  port.on("message", (value) => {
    for (const frame of value as Frame[]) {
      if (frame[0] === Op.Tell) host.deliver(frame[1], tellEnvelope(frame[2]));
      else if (frame[0] === Op.Ask) host.deliver(frame[1], new AskEnvelope(frame[2], frame[3], out));
      else if (frame[0] === Op.Evict) host.evict(frame[1]);
    }
  });
  return host;
}

/**
 * The envelope of an ask: its one answer goes back to the parent as a reply frame. A class, not a
 * literal with a getter and two closures: one of these is made per publish on the hot path.
 */
class AskEnvelope implements Envelope {
  replied = false;

  constructor(
    readonly msg: unknown,
    private readonly reqId: number,
    private readonly out: Outbox<Frame>,
  ) {}

  reply(value: unknown): void {
    if (this.replied) return;
    this.replied = true;
    this.out.push([Op.Reply, this.reqId, true, value]);
  }

  fail(err: unknown): void {
    if (this.replied) return;
    this.replied = true;
    this.out.push([Op.Reply, this.reqId, false, toWireError(err)]);
  }
}
