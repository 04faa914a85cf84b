import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { runCommand, startStorm, type StormProcess } from "./harness/storm_process.ts";

const STORM = fileURLToPath(new URL("../dist/bin/storm.js", import.meta.url));

/** A running `storm chat`: its stdout and stderr lines as they come, and its exit. */
class ChatProcess {
  readonly out: string[] = [];
  readonly err: string[] = [];
  readonly exited: Promise<number | null>;
  readonly #waiters = new Set<() => void>();

  constructor(readonly proc: ChildProcess) {
    this.#lines(proc.stdout!, this.out);
    this.#lines(proc.stderr!, this.err);
    this.exited = new Promise((resolve) => proc.once("exit", (code) => resolve(code)));
  }

  /** Resolves with the first line of `stream` that matches, as soon as it is printed. */
  line(stream: "out" | "err", re: RegExp, timeoutMs = 20_000): Promise<string> {
    const lines = stream === "out" ? this.out : this.err;
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = lines.find((l) => re.test(l));
        if (hit === undefined) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve(hit);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no ${stream} line matching ${re} in ${timeoutMs} ms; stdout:\n${this.out.join("\n")}\nstderr:\n${this.err.join("\n")}`));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  #lines(stream: NodeJS.ReadableStream, into: string[]): void {
    let rest = "";
    stream.setEncoding("utf8");
    stream.on("data", (d: string) => {
      const parts = (rest + d).split("\n");
      rest = parts.pop()!;
      into.push(...parts);
      for (const w of [...this.#waiters]) w();
    });
  }
}

let node: StormProcess;
const chats: ChatProcess[] = [];

function chat(args: string[]): ChatProcess {
  const c = new ChatProcess(spawn(process.execPath, [STORM, "chat", "--url", node.url, ...args], { stdio: ["pipe", "pipe", "pipe"] }));
  chats.push(c);
  return c;
}

beforeAll(async () => {
  node = await startStorm();
}, 60_000);

afterEach(() => {
  for (const c of chats.splice(0)) if (c.proc.exitCode === null) c.proc.kill("SIGKILL");
});

afterAll(async () => {
  await node?.stop();
});

it("two storm chat processes talk through a node: lines, /me and /msg arrive; stdin's end exits 0 once all are committed", async () => {
  const bob = chat(["--user", "bob", "--join", "#lobby"]);
  await bob.line("err", /talking in #lobby$/);
  const alice = chat(["--user", "alice", "--join", "lobby"]);
  await alice.line("err", /talking in #lobby$/);

  // Publishes of one channel go one at a time: a client that closed at stdin's end would lose most of these.
  const more = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`);
  alice.proc.stdin!.end(["hello bob", "/me waves", "/msg bob psst", "//not a command", ...more, ""].join("\n"));
  expect(await alice.exited, alice.err.join("\n")).toBe(0);

  // Exit 0 came after the acks: everything is in the node's history already.
  const token = await node.token("alice");
  const lobby = await node.http("GET", "/channels/lobby/messages?after=0", { token });
  expect((lobby.body as { messages: Array<{ from: string; body: string }> }).messages.map((m) => [m.from, m.body])).toEqual([
    ["alice", "hello bob"],
    ["alice", "/me waves"],
    ["alice", "/not a command"],
    ...more.map((l) => ["alice", l]),
  ]);

  await bob.line("out", /^#lobby <alice> hello bob$/);
  await bob.line("out", /^#lobby \* alice waves$/);
  await bob.line("out", /^#lobby <alice> line 40$/);
  const dm = await bob.line("out", /^#dm:\S+ <alice> psst$/);
  const dmName = /^#(\S+)/.exec(dm)![1]!;
  const dmHist = await node.http("GET", `/channels/${encodeURIComponent(dmName)}/messages?after=0`, { token: await node.token("bob") });
  expect((dmHist.body as { messages: Array<{ from: string; body: string }> }).messages.map((m) => [m.from, m.body])).toEqual([["alice", "psst"]]);
  // Each message is printed once, in order.
  expect(bob.out.filter((l) => l.startsWith("#lobby "))).toEqual(["#lobby <alice> hello bob", "#lobby * alice waves", "#lobby <alice> /not a command", ...more.map((l) => `#lobby <alice> ${l}`)]);

  bob.proc.stdin!.end();
  expect(await bob.exited).toBe(0);
}, 90_000);

it("storm chat refuses a mistyped flag and a missing identity with exit 2, and --help prints its usage", async () => {
  const typo = await runCommand(["chat", "--usr", "bob", "--url", node.url]);
  expect(typo.code).toBe(2);
  expect(typo.stderr).toContain('unknown option "--usr" (did you mean --user?)');
  const anonymous = await runCommand(["chat", "--url", node.url], { env: { STORM_TOKEN: undefined } });
  expect(anonymous.code).toBe(2);
  expect(anonymous.stderr).toContain("Cannot sign in");
  const help = await runCommand(["chat", "--help"]);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain("storm chat [--url");
}, 30_000);
