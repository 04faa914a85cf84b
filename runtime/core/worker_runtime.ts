import type { Envelope } from "./actor.ts";
import { ActorHost, type ActorHostOptions, tellEnvelope } from "./actor_host.ts";
import { toWireError } from "./errors.ts";
import { Outbox } from "./outbox.ts";
import type { PortLike } from "./platform.ts";
import { type Batch, Op, plainCodec, type WireCodec } from "./wire.ts";

/**
 * The actor side of a worker thread: turns incoming frame batches into mailbox envelopes and sends
 * replies, outbound tells and life-cycle notices back to the parent, batched per loop turn.
 */
export function startWorkerRuntime(
  port: PortLike,
  defer: (fn: () => void) => void,
  opts: Omit<ActorHostOptions, "send" | "onLifecycle">,
  codec: WireCodec = plainCodec,
): ActorHost {
  const out = new Outbox(port, defer, codec);
  const host = new ActorHost({
    ...opts,
    send: (to, msg) => out.send(Op.Out, to, msg),
    onLifecycle: (event) => out.notice(Op.Life, event),
  });
  port.on("message", (value) => {
    const b = value as Batch;
    for (let i = 0; i < b.length;) {
      const op = b[i] as Op;
      switch (op & ~Op.Coded) {
        case Op.Tell:
          host.deliver(b[i + 1] as string, tellEnvelope(op & Op.Coded ? codec.decode(b[i + 2]) : b[i + 2]));
          i += 3;
          break;
        case Op.Ask:
          host.deliver(b[i + 1] as string, new AskEnvelope(op & Op.Coded ? codec.decode(b[i + 2]) : b[i + 2], b[i + 3] as number, out));
          i += 4;
          break;
        case Op.Evict:
          host.evict(b[i + 1] as string);
          i += 2;
          break;
        default:
          throw new Error(`Cannot read a batch from the main thread: op ${op} at ${i}`);
      }
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
    private readonly out: Outbox,
  ) {}

  reply(value: unknown): void {
    if (this.replied) return;
    this.replied = true;
    this.out.send(Op.Reply, this.reqId, value);
  }

  fail(err: unknown): void {
    if (this.replied) return;
    this.replied = true;
    this.out.fail(this.reqId, toWireError(err));
  }
}
