#!/usr/bin/env node
/**
 * Deno smoke test (`npm run test:deno`, run by Node). First the actor core under Deno: `deno check`
 * of runtime/core and actors with tsconfig.core.json (ES2023 only: no Node or Deno globals), and
 * their unit tests run by vitest on the Deno runtime. Then a Storm node under Deno straight from the
 * TypeScript sources (`deno run -A bin/storm.ts serve`, worker threads included), and two `ws`
 * clients exchanging messages through it: dev tokens, a channel both users joined, `sub` then
 * three `pub`s answered by acks with seq 1, 2, 3, the subscriber receiving exactly those messages
 * in order, a resume from seq 1, the client SDK (client/) under Deno publishing and receiving through
 * the node, and a graceful stop on SIGTERM (sockets closed with 4101 `shutting_down`, exit code 0).
 * The SDK's core (client/core) is part of the `deno check` without Node or Deno globals.
 *
 * Prints one line per check and a final `N passed, M failed`; exits non-zero on the first failure
 * (with the node's stderr) or when the whole run exceeds 150 s.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";

const DENO_VERSION = "2.9.6";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const OVERALL_MS = 150_000;
/** A fresh data dir runs PGlite's initdb (~10 s); Deno compiles the sources on first run. */
const START_MS = 60_000;
const STEP_MS = 15_000;
const TOOL_MS = 40_000;

let passed = 0;
let deno;
/** The `deno check` or vitest child running now, killed if the run ends early. */
let tool;
let denoErr = "";
let dataDir;

/** Ends the run; the `exit` hook below kills what still runs and deletes the data dir. */
function finish(code) {
  console.log(`${passed} passed, ${code === 0 ? 0 : 1} failed`);
  process.exit(code);
}

function fail(what, err) {
  console.error(`FAIL ${what}: ${err instanceof Error ? err.message : String(err)}`);
  if (denoErr.trim()) console.error(`--- Deno stderr (last 4 KiB) ---\n${denoErr.slice(-4096)}`);
  finish(1);
}

async function check(what, fn) {
  try {
    const out = await fn();
    passed++;
    console.log(`ok ${passed} - ${what}`);
    return out;
  } catch (err) {
    fail(what, err);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The `deno` binary npm installed (what `npx deno` runs), or `npx deno` when it is missing. */
function denoCommand() {
  const local = join(ROOT, "node_modules", ".bin", "deno");
  if (existsSync(local)) return [local, []];
  // Not a devDependency: deno's per-platform optional packages break `npm ci` on a lock made on one
  // platform. It is installed once from the npm registry into a cache outside the repo.
  const prefix = join(process.env.STORM_CACHE ?? join(homedir(), ".cache", "storm"), `deno-${DENO_VERSION}`);
  const bin = join(prefix, "node_modules", ".bin", "deno");
  if (!existsSync(bin)) {
    const r = spawnSync("npm", ["install", "--no-save", "--no-audit", "--no-fund", "--prefix", prefix, `deno@${DENO_VERSION}`], { stdio: "inherit" });
    if (r.status !== 0 || !existsSync(bin)) throw new Error(`Cannot install deno@${DENO_VERSION} into ${prefix}`);
  }
  return [bin, []];
}

/** Signals a child's whole process group (children run detached), so nothing outlives the test. */
function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

const running = (child) => child !== undefined && child.exitCode === null && child.signalCode === null;

const denoEnv = { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };

/** Runs a Deno command to completion; rejects with its output when it fails. */
function runDeno(args, ms) {
  const [cmd, pre] = denoCommand();
  return withTimeout(new Promise((resolve, reject) => {
    const p = (tool = spawn(cmd, [...pre, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: denoEnv, detached: true }));
    let out = "";
    p.stdout.setEncoding("utf8").on("data", (d) => (out += d));
    p.stderr.setEncoding("utf8").on("data", (d) => (out += d));
    p.once("error", (err) => reject(new Error(`Cannot spawn ${cmd}: ${err.message}`)));
    p.once("exit", (code, sig) => {
      if (code === 0) resolve(out);
      else reject(new Error(`deno ${args.join(" ")} exited with code ${code}, signal ${sig}\n${out.slice(-4096)}`));
    });
  }), ms, `deno ${args[0]}`);
}

/** The core's source files (no tests, no conformance suites: those import vitest). */
function coreSources() {
  return ["lib", "runtime/core", "actors", "client/core"].flatMap((dir) =>
    readdirSync(join(ROOT, dir))
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !f.endsWith("_conformance.ts"))
      .map((f) => `${dir}/${f}`));
}

/** Set before the SIGTERM check: from then on, Deno exiting is expected. */
let stopping = false;

function startDeno() {
  let port;
  const [cmd, pre] = denoCommand();
  const args = [...pre, "run", "-A", "bin/storm.ts", "serve", "--port", "0", "--host", "127.0.0.1", "--data-dir", dataDir, "--workers", "2"];
  deno = spawn(cmd, args, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: denoEnv,
  });
  deno.stderr.setEncoding("utf8").on("data", (d) => {
    denoErr = (denoErr + d).slice(-64 * 1024);
  });
  return new Promise((resolve, reject) => {
    let buf = "";
    deno.once("error", (err) => reject(new Error(`Cannot spawn ${cmd}: ${err.message}`)));
    // Deno dying at any point before the SIGTERM check fails the run at once, with its stderr.
    deno.once("close", (code, sig) => {
      const why = `Deno exited unexpectedly (code ${code}, signal ${sig})`;
      if (!stopping) fail(port === undefined ? "start" : "the running node", new Error(why));
    });
    deno.stdout.setEncoding("utf8").on("data", (d) => {
      buf += d;
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line.startsWith("{")) continue;
        try {
          const ev = JSON.parse(line);
          if (ev.event === "listening" && typeof ev.port === "number") resolve((port = ev.port));
        } catch {
          // Not a JSON event line.
        }
      }
    });
  });
}

async function http(port, method, path, { token, body } = {}) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, body: json };
}

/** A WebSocket client that records every server frame (a message is one frame or an array). */
class Client {
  frames = [];
  #waiters = [];
  closed;

  constructor(port, token, name) {
    this.name = name;
    this.ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${encodeURIComponent(token)}`);
    this.ws.on("message", (data) => {
      const parsed = JSON.parse(data.toString("utf8"));
      for (const f of Array.isArray(parsed) ? parsed : [parsed]) this.frames.push(f);
      this.#wake();
    });
    this.ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.#wake();
    });
    this.ws.on("error", (err) => {
      this.error = err;
      this.#wake();
    });
  }

  send(frameOrFrames) {
    this.ws.send(JSON.stringify(frameOrFrames));
  }

  /** Resolves with `pred()`'s first truthy value; rejects on an `err` frame, error or close. */
  until(pred, what, ms = STEP_MS) {
    return withTimeout(new Promise((resolve, reject) => {
      const test = () => {
        const errFrame = this.frames.find((f) => f.t === "err");
        if (errFrame) return reject(new Error(`${this.name} got an error frame: ${JSON.stringify(errFrame)}`)), true;
        const v = pred(this);
        if (v) return resolve(v), true;
        if (this.error) return reject(new Error(`${this.name}: ${this.error.message}`)), true;
        if (this.closed) return reject(new Error(`${this.name} closed (${this.closed.code} ${this.closed.reason})`)), true;
        return false;
      };
      if (!test()) this.#waiters.push(test);
    }), ms, `${this.name}: ${what}`);
  }

  /** Resolves with the close code and reason. */
  closedWith(ms = STEP_MS) {
    return withTimeout(new Promise((resolve) => {
      const test = () => (this.closed ? (resolve(this.closed), true) : false);
      if (!test()) this.#waiters.push(test);
    }), ms, `${this.name} to be closed`);
  }

  messages(ch) {
    return this.frames.filter((f) => f.t === "msgs" && f.ch === ch).flatMap((f) => f.m);
  }

  #wake() {
    this.#waiters = this.#waiters.filter((w) => !w());
  }
}

// Whatever ends this process (a failure, a crash, EPIPE on stdout) takes Deno and its children with it.
process.on("exit", () => {
  for (const child of [tool, deno]) if (running(child)) killGroup(child, "SIGKILL");
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});
const overall = setTimeout(() => fail("overall", new Error(`the smoke test took more than ${OVERALL_MS / 1000} s`)), OVERALL_MS);
overall.unref();
for (const sig of ["SIGINT", "SIGTERM"]) process.once(sig, () => fail("interrupted", new Error(sig)));

await check("deno check: runtime/core, actors and the SDK's client/core type-check under Deno without Node or Deno globals", () =>
  runDeno(["check", "--config", "tsconfig.core.json", ...coreSources()], TOOL_MS));

await check("the unit tests of runtime/core and actors pass on the Deno runtime (vitest)", async () => {
  const out = await runDeno(["run", "-A", "node_modules/vitest/vitest.mjs", "run", "--passWithNoTests", "lib/", "runtime/core/", "actors/"], TOOL_MS);
  const counts = /Tests\s+(.+)/.exec(out);
  console.log(`# vitest on Deno: ${counts ? counts[1].trim() : "no test files"}`);
});

dataDir = mkdtempSync(join(tmpdir(), "storm-deno-"));
const CH = "g";
const BODIES = ["hello from deno 1", "hello from deno 2", "hello from deno 3"];

const port = await check("a node starts under Deno from bin/storm.ts", () =>
  withTimeout(startDeno(), START_MS, 'the "listening" line'));

const [alice, bob] = await check("POST /auth/dev-token gives a token per user", async () => {
  const tokens = [];
  for (const user of ["alice", "bob"]) {
    const r = await http(port, "POST", "/auth/dev-token", { body: { user } });
    assert(r.status === 200 && typeof r.body.token === "string", `dev-token for ${user}: ${r.status} ${JSON.stringify(r.body)}`);
    tokens.push(r.body.token);
  }
  return tokens;
});

await check("alice creates the channel and bob joins it", async () => {
  const created = await http(port, "POST", "/channels", { token: alice, body: { name: CH } });
  assert(created.status === 201 && created.body.name === CH, `create: ${created.status} ${JSON.stringify(created.body)}`);
  const joined = await http(port, "POST", `/channels/${CH}/members`, { token: bob, body: { user: "bob" } });
  assert(joined.status === 200 && joined.body.members === 2, `join: ${joined.status} ${JSON.stringify(joined.body)}`);
});

const a = new Client(port, alice, "client A (alice)");
const b = new Client(port, bob, "client B (bob)");
await check("both WebSocket clients are welcomed", async () => {
  for (const [c, user] of [[a, "alice"], [b, "bob"]]) {
    const w = await c.until((x) => x.frames.find((f) => f.t === "welcome"), "welcome");
    assert(w.user === user && w.channels.includes(CH), `${c.name} welcome: ${JSON.stringify(w)}`);
  }
});

await check("client A subscribes from seq 0", async () => {
  a.send({ t: "sub", id: 1, ch: CH, after: 0 });
  const s = await a.until((x) => x.frames.find((f) => f.t === "subbed" && f.id === 1), "subbed");
  assert(s.ch === CH && s.last === 0, `subbed: ${JSON.stringify(s)}`);
});

await check("client B publishes 3 messages and gets acks with seq 1, 2, 3", async () => {
  // One WebSocket message carrying an array of three frames.
  b.send(BODIES.map((body, i) => ({ t: "pub", id: 2 + i, ch: CH, cid: `x${i + 1}`, body })));
  const acks = await b.until((x) => {
    const got = x.frames.filter((f) => f.t === "ack");
    return got.length >= 3 && got;
  }, "3 acks");
  assert(acks.length === 3, `expected 3 acks, got ${JSON.stringify(acks)}`);
  for (let i = 0; i < 3; i++) {
    const ack = acks.find((f) => f.id === 2 + i);
    assert(ack && ack.seq === i + 1 && ack.ch === CH && !ack.dup, `ack of id ${2 + i}: ${JSON.stringify(ack)}`);
  }
});

await check("client A receives seq 1, 2, 3 in order with the right bodies", async () => {
  const m = await a.until((x) => x.messages(CH).length >= 3 && x.messages(CH), "3 messages");
  assert(m.length === 3, `expected exactly 3 messages, got ${JSON.stringify(m)}`);
  m.forEach((msg, i) => {
    assert(msg.seq === i + 1 && msg.body === BODIES[i] && msg.from === "bob" && msg.cid === `x${i + 1}` && Number.isInteger(msg.ts),
      `message ${i + 1}: ${JSON.stringify(msg)}`);
  });
});

await check("a client resuming after seq 1 gets exactly seq 2 and 3", async () => {
  const c = new Client(port, alice, "client C (alice, resume)");
  await c.until((x) => x.frames.find((f) => f.t === "welcome"), "welcome");
  c.send({ t: "sub", id: 1, ch: CH, after: 1 });
  const s = await c.until((x) => x.frames.find((f) => f.t === "subbed"), "subbed");
  assert(s.last === 3 && !s.truncated, `subbed: ${JSON.stringify(s)}`);
  const m = await c.until((x) => x.messages(CH).length >= 2 && x.messages(CH), "2 messages");
  assert(JSON.stringify(m.map((x) => x.seq)) === "[2,3]", `resumed seqs: ${JSON.stringify(m)}`);
  c.ws.close();
});

await check("the SDK (client/) under Deno: bob subscribes from seq 3, alice publishes twice, acks 4 and 5, bob receives exactly those", async () => {
  const out = await runDeno(["run", "-A", "tests/deno/sdk_smoke.mjs", `http://127.0.0.1:${port}`, alice, bob, CH, "3"], TOOL_MS);
  const line = out.trim().split("\n").findLast((l) => l.startsWith("{"));
  assert(line, `no result line from the SDK script: ${out.slice(-1000)}`);
  const r = JSON.parse(line);
  assert(r.transport === "websocket" && r.user === "alice", `connection: ${line}`);
  assert(JSON.stringify(r.acks) === "[4,5]", `acks: ${line}`);
  assert(JSON.stringify(r.received) === JSON.stringify([[4, "alice", "sdk under deno 1"], [5, "alice", "sdk under deno 2"]]), `received: ${line}`);
});

await check("SIGTERM closes sockets with 4101 shutting_down and Deno exits 0", async () => {
  const exited = new Promise((resolve) => deno.once("exit", (code, sig) => resolve({ code, sig })));
  stopping = true;
  killGroup(deno, "SIGTERM");
  const closed = await a.closedWith();
  assert(closed.code === 4101 && closed.reason === "shutting_down", `client A closed with ${closed.code} ${closed.reason}`);
  const { code, sig } = await withTimeout(exited, STEP_MS, "Deno to exit");
  assert(code === 0, `Deno exited with code ${code}, signal ${sig}`);
});

b.ws.terminate();
clearTimeout(overall);
finish(0);
