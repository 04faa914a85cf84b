import { createInterface } from "node:readline";
import { actionText, HELP, parseCommand } from "../client/chat_commands.ts";
import { AuthError, RejectedError, StormClient, type Channel, type PublishResult } from "../client/index.ts";
import { nodePlatform } from "../client/platform/node.ts";
import { packageVersion, parseFlags, str, UsageError, USAGE_EXIT } from "./cli_args.ts";

export const CHAT_USAGE = `storm chat: an IRC-like terminal client, on the client SDK

  storm chat [--url http://127.0.0.1:8080] (--user NICK | --token JWT) [--join CHANNEL]

  --url URL       the node (STORM_URL; default http://127.0.0.1:8080)
  --user NICK     sign in with a development token for NICK (POST /auth/dev-token)
  --token JWT     sign in with this token (STORM_TOKEN)
  --join CHANNEL  join (or create) this channel at start and talk in it

Each line read from stdin is sent to the current channel; commands:
  ${HELP} · /quit
Each message delivered is printed as "#channel <nick> text" ("#channel * nick action" for /me);
connection changes and notices go to stderr. At the end of stdin (or /quit) it waits until every
message sent is committed, then exits (0, or 1 if the server refused one).`;

export interface ChatIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  input: NodeJS.ReadableStream;
}

/** Lines of backlog shown when a channel is opened. */
const BACKLOG = 10;

/** `storm chat ...`; returns the exit status (0 done, 1 refused or signed out, 2 usage). */
export async function runChat(argv: readonly string[], io: ChatIo): Promise<number> {
  let url: string;
  let user: string | undefined;
  let token: string | undefined;
  let join: string | undefined;
  try {
    const p = parseFlags(argv, { url: { type: "string" }, user: { type: "string" }, token: { type: "string" }, join: { type: "string" } });
    if (p.help || p.version) {
      io.out(p.help ? CHAT_USAGE : `storm ${packageVersion()}`);
      return 0;
    }
    url = (str(p.values, "url") ?? io.env["STORM_URL"] ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
    user = str(p.values, "user");
    token = str(p.values, "token") ?? (user === undefined ? io.env["STORM_TOKEN"] : undefined);
    join = str(p.values, "join")?.replace(/^#/, "");
    if (user !== undefined && str(p.values, "token") !== undefined) throw new UsageError("Cannot sign in: give --user or --token, not both");
    if (user === undefined && !token) throw new UsageError("Cannot sign in: give --user NICK (a development token) or --token JWT (or STORM_TOKEN)");
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`storm chat: ${err.message}\n\n${CHAT_USAGE}`);
    return USAGE_EXIT;
  }
  try {
    token ??= await devToken(url, user!);
  } catch (err) {
    io.err(`storm chat: ${(err as Error).message}`);
    return 1;
  }
  const chat = new TerminalChat(new StormClient({ url, token, platform: nodePlatform() }), io);
  return chat.run(join);
}

async function devToken(url: string, user: string): Promise<string> {
  const res = await fetch(`${url}/auth/dev-token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user }) });
  const body = (await res.json().catch(() => ({}))) as { token?: string; error?: { message?: string } };
  if (!res.ok || !body.token) throw new Error(`Cannot get a development token for "${user}" from ${url}: ${body.error?.message ?? `HTTP ${res.status}`}`);
  return body.token;
}

/** The session: SDK events to printed lines, stdin lines to SDK calls (in order). */
class TerminalChat {
  #current: string | undefined;
  readonly #opened = new Set<string>();
  readonly #sent: Promise<PublishResult | undefined>[] = [];
  #refused = 0;
  #signedOut: (() => void) | undefined;

  constructor(readonly client: StormClient, readonly io: ChatIo) {
    client.on("status", (s) => io.err(`storm chat: ${s.state} (${s.transport}${s.rtt === undefined ? "" : `, ${Math.round(s.rtt)} ms`})`));
    client.on("welcome", (w) => {
      for (const ch of w.channels) void this.#open(ch);
    });
    client.on("channels", ({ ch, joined }) => {
      if (joined) void this.#open(ch);
    });
    client.on("error", (e) => {
      io.err(`storm chat: ${e.message}`);
      if (e instanceof AuthError) this.#signedOut?.();
    });
  }

  async run(join: string | undefined): Promise<number> {
    const signedOut = new Promise<"signed-out">((resolve) => (this.#signedOut = () => resolve("signed-out")));
    const connected = this.client.connect().then(() => "connected" as const);
    if ((await Promise.race([connected, signedOut])) === "signed-out") return this.#end(1);
    if (join) await this.#do(`/join #${join}`);
    const lines = createInterface({ input: this.io.input, crlfDelay: Infinity });
    const reading = (async () => {
      for await (const line of lines) if (!(await this.#do(line))) break;
      return "done" as const;
    })();
    if ((await Promise.race([reading, signedOut])) === "signed-out") return this.#end(1);
    lines.close();
    // The offline queue: every publish resolves once committed (or refused for good).
    await Promise.all(this.#sent);
    return this.#end(this.#refused > 0 ? 1 : 0);
  }

  #end(code: number): number {
    this.client.close();
    return code;
  }

  /** Runs one input line; false for /quit. */
  async #do(line: string): Promise<boolean> {
    if (line.trim() === "/quit") return false;
    const cmd = parseCommand(line);
    try {
      switch (cmd.kind) {
        case "say":
        case "me":
          if (!cmd.text) return true;
          if (!this.#current) throw new Error("Join a channel first: /join #general");
          this.#publish(this.#current, cmd.kind === "me" ? `/me ${cmd.text}` : cmd.text);
          return true;
        case "join":
          await this.#join(cmd.ch);
          return true;
        case "leave":
          if (!this.#current) throw new Error("Not in a channel");
          await this.client.channel(this.#current).leave();
          this.io.err(`storm chat: left #${this.#current}`);
          this.#current = undefined;
          return true;
        case "msg":
          this.#publish(await this.client.dm(cmd.user), cmd.text);
          return true;
        case "topic":
          if (!this.#current) throw new Error("Join a channel first: /join #general");
          await this.client.channel(this.#current).setTopic(cmd.topic);
          return true;
        case "help":
          this.io.err(`${HELP} · /quit`);
          return true;
        case "invalid":
          this.io.err(`storm chat: ${cmd.message}`);
          return true;
      }
    } catch (err) {
      this.io.err(`storm chat: ${(err as Error).message}`);
      return true;
    }
  }

  #publish(ch: string, body: string): void {
    this.#sent.push(
      this.client.channel(ch).publish(body).catch((err: Error) => {
        this.#refused++;
        this.io.err(`storm chat: not sent to #${ch}: ${err.message}`);
        return undefined;
      }),
    );
  }

  /** Joins `name`, creating it when it does not exist yet (as the web app's /join does). */
  async #join(name: string): Promise<void> {
    try {
      await this.client.channel(name).join();
    } catch (err) {
      if (!(err instanceof RejectedError && err.code === "channel_not_found")) throw err;
      await this.client.createChannel(name);
    }
    await this.#open(name);
    this.#current = name;
    this.io.err(`storm chat: talking in #${name}`);
  }

  /** Prints the channel's last lines, then its live messages; once per channel. */
  async #open(name: string): Promise<void> {
    if (this.#opened.has(name)) return;
    this.#opened.add(name);
    const channel = this.client.channel(name);
    this.#wire(channel);
    try {
      const page = await channel.history({ limit: BACKLOG });
      for (const m of page.messages) this.#print(name, m.from, m.body, m.kind);
      await channel.subscribe(page.last);
    } catch (err) {
      this.#opened.delete(name);
      this.io.err(`storm chat: cannot open #${name}: ${(err as Error).message}`);
    }
  }

  #wire(channel: Channel): void {
    const name = channel.name;
    channel.on("message", (m) => this.#print(name, m.from, m.body, m.kind));
    channel.on("topic", ({ topic }) => this.io.err(`storm chat: #${name} topic: ${topic}`));
    channel.on("truncated", ({ lastSeen, first }) => this.io.err(`storm chat: #${name}: messages ${lastSeen + 1}..${first - 1} are gone from the history`));
  }

  /** One line per message; edits, deletes and reactions (entries with a `kind`) are not shown. */
  #print(ch: string, from: string, body: string, kind: string | undefined): void {
    if (kind !== undefined) return;
    const action = actionText(body);
    this.io.out(action === undefined ? `#${ch} <${from}> ${body}` : `#${ch} * ${from} ${action}`);
  }
}
