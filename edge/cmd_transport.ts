import { StormError } from "../runtime/core/errors.ts";
import type { Principal } from "./auth.ts";
import { type Command, type Dispatcher, replyTo } from "./dispatcher.ts";
import type { EdgeMetrics } from "./edge_metrics.ts";
import { frameId } from "./frame_handler.ts";
import { errorFrame } from "./frames.ts";
import { readJson, type RouteContext, type RouteReply } from "./http_api.ts";
import { LIMITS } from "./schemas.ts";
import { checkFrame } from "./validate.ts";

/**
 * `POST /cmd`: the WebSocket client frames over HTTP, for clients that receive over SSE or
 * long-poll. The body is one frame or an array of up to 256; each is validated and run by the same
 * dispatcher as on a WebSocket, in body order (publishes to one channel keep that order, G1), and
 * the answer is the array of their reply frames (those with an `id`, plus every validation error).
 */
export class CmdTransport {
  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly principal: (ctx: RouteContext) => Promise<Principal>,
    /** Refuses a frame before it runs (rate limits); throws the refusal. */
    private readonly admit: (p: Principal, f: Command) => void = () => {},
    /** Counts the validation errors it answers (the dispatcher counts the commands' own). */
    private readonly metrics?: EdgeMetrics,
  ) {}

  async handle(ctx: RouteContext): Promise<RouteReply> {
    const p = await this.principal(ctx);
    const body = await readJson(ctx.req);
    const raws = Array.isArray(body) ? body : [body];
    if (raws.length > LIMITS.maxFramesPerMessage) {
      throw new StormError("too_large", `Cannot accept ${raws.length} frames in one request (max ${LIMITS.maxFramesPerMessage})`);
    }
    const replies = await Promise.all(raws.map((raw) => this.#run(p, raw)));
    // The reply frames are JSON text already, as a WebSocket would send them.
    ctx.res.writeHead(200, { "content-type": "application/json" }).end(`[${replies.filter((r) => r !== undefined).join(",")}]`);
    return undefined;
  }

  async #run(p: Principal, raw: unknown): Promise<string | undefined> {
    let f: Command;
    try {
      f = checkFrame(raw);
      this.admit(p, f);
    } catch (err) {
      this.metrics?.error(err);
      return errorFrame(frameId(raw), err);
    }
    const id = "id" in f ? f.id : undefined;
    try {
      const r = await this.dispatcher.execute(p, f);
      return id === undefined ? undefined : replyTo(f, r);
    } catch (err) {
      return id === undefined ? undefined : errorFrame(id, err);
    }
  }
}
