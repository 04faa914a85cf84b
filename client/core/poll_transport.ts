import { HttpCommands } from "./http_commands.ts";
import type { HttpExchange, Platform } from "./platform.ts";
import { type ClientFrame, positionQuery, type ServerFrame } from "./protocol.ts";
import type { Transport, TransportHandlers } from "./transport.ts";

/**
 * Long-poll (`GET /poll?ch=<name>:<seq>...&wait=25`) for what the server sends, `POST /cmd` for what
 * the client sends: the last resort where neither WebSocket nor a streaming response gets through.
 * A poll carries no `welcome`, so the transport first reads `GET /users/me` and hands the client a
 * `welcome` built from it, once a first poll (`wait=0`) answered; a poll must name a channel, so with
 * none the welcome goes at once and polling starts with the first subscription. Long-polls get no
 * `user` events (docs/PROTOCOL.md): read markers of other connections do not reach a poller. A change of the channel set cuts the poll in flight and polls again from
 * the positions seen so far.
 */
export class PollTransport implements Transport {
  readonly kind = "poll" as const;
  readonly #positions = new Map<string, number>();
  readonly #commands: HttpCommands;
  #poll: HttpExchange | undefined;
  #repollTimer: unknown;
  /** A channel was added since the last poll. */
  #changed = false;
  /** Held back until the first poll succeeded. */
  #welcomeFrame: ServerFrame | undefined;
  #closed = false;

  constructor(
    private readonly base: string,
    private token: string,
    private readonly platform: Platform,
    private readonly handlers: TransportHandlers,
    private readonly waitSeconds = 25,
  ) {
    this.#commands = new HttpCommands(base, () => this.token, platform, (f) => this.#deliver(f), (c) => this.#end(c.code, c.reason));
  }

  start(): void {
    void this.#welcome();
  }

  send(frames: ClientFrame[]): void {
    this.#commands.send(frames);
  }

  subscribe(ch: string, after: number, id: number): void {
    void this.#commands.checkReadable(ch, id).then((refused) => {
      if (this.#closed) return;
      if (refused) return this.handlers.onFrames([{ ...refused, id }]);
      this.#positions.set(ch, after);
      this.#changed = true;
      this.#schedulePoll();
    }, (err: Error) => this.#end(1006, `Cannot check channel ${ch}: ${err.message}`));
  }

  unsubscribe(ch: string): void {
    if (this.#positions.delete(ch)) this.#schedulePoll();
  }

  reauth(token: string): void {
    this.token = token;
  }

  close(): void {
    this.#closed = true;
    if (this.#repollTimer !== undefined) this.platform.clearTimeout(this.#repollTimer);
    this.#poll?.abort();
    this.#commands.close();
  }

  /** `GET /users/me` for the welcome, then a first poll (`wait=0`): the transport is open only once polling works. */
  async #welcome(): Promise<void> {
    const x = this.platform.request({ method: "GET", url: `${this.base}/users/me`, headers: { authorization: `Bearer ${this.token}` } });
    try {
      const res = await x.response;
      const text = await res.text();
      if (res.status !== 200) return this.#end(res.status === 401 ? 4001 : 1006, `GET /users/me: HTTP ${res.status} ${text.slice(0, 200)}`);
      const me = JSON.parse(text) as { user: string; channels: string[]; reads: Record<string, number>; unread?: Record<string, number>; mentions?: Record<string, number> };
      const welcome: ServerFrame = { t: "welcome", user: me.user, role: "user", channels: me.channels, reads: me.reads, unread: me.unread ?? {}, mentions: me.mentions ?? {} };
      // A poll must name a channel: with none yet, the first subscription's poll is the check.
      if (this.#positions.size === 0) return this.#deliver([welcome]);
      this.#welcomeFrame = welcome;
      void this.#pollOnce(0);
    } catch (err) {
      this.#end(1006, `GET /users/me failed: ${(err as Error).message}`);
    }
  }

  /** Polls again in the next turn, cutting the poll in flight (its answer would be from old positions). */
  #schedulePoll(): void {
    this.#repollTimer ??= this.platform.setTimeout(() => {
      this.#repollTimer = undefined;
      if (this.#closed) return;
      this.#poll?.abort();
      this.#poll = undefined;
      // A poll answers early only for messages: after a new subscription, ask without waiting so its `subbed` comes now.
      const wait = this.#changed ? 0 : this.waitSeconds;
      this.#changed = false;
      if (this.#positions.size > 0) void this.#pollOnce(wait);
    }, 0);
  }

  async #pollOnce(wait = this.waitSeconds): Promise<void> {
    const q = positionQuery(this.#positions);
    const x = (this.#poll = this.platform.request({
      method: "GET",
      url: `${this.base}/poll?${q ? `${q}&` : ""}wait=${wait}`,
      headers: { authorization: `Bearer ${this.token}` },
    }));
    try {
      const res = await x.response;
      const text = await res.text();
      if (x !== this.#poll || this.#closed) return;
      if (res.status !== 200) return this.#end(res.status === 401 ? 4001 : 1006, `GET /poll: HTTP ${res.status} ${text.slice(0, 200)}`);
      const reply = JSON.parse(text) as { frames: ServerFrame[] };
      const welcome = this.#welcomeFrame;
      this.#welcomeFrame = undefined;
      this.#deliver(welcome ? [welcome, ...reply.frames] : reply.frames);
      this.#schedulePoll();
    } catch (err) {
      if (x === this.#poll) this.#end(1006, `GET /poll failed: ${(err as Error).message}`);
    }
  }

  #deliver(frames: ServerFrame[]): void {
    if (this.#closed) return;
    for (const f of frames) {
      if (f.t === "msgs" && f.m.length > 0 && this.#positions.has(f.ch)) this.#positions.set(f.ch, f.m[f.m.length - 1]!.seq);
    }
    this.handlers.onFrames(frames);
  }

  #end(code: number, reason: string): void {
    if (this.#closed) return;
    this.close();
    this.handlers.onClose({ code, reason });
  }
}
