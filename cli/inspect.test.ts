import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type StormProcess, startStorm } from "../tests/harness/storm_process.ts";
import { InspectUsageError, normalizeUrl, parseInspectArgs } from "./args.ts";
import type { FetchLike } from "./client.ts";
import { runInspect } from "./inspect.ts";
import { formatDuration, formatPairs, formatTable } from "./table.ts";
import { type NodeStatus, mergePlacements, renderActors, resolveNode } from "./views.ts";

async function run(argv: string[], o: { env?: Record<string, string>; fetch?: FetchLike } = {}) {
  let out = "";
  let err = "";
  const code = await runInspect(argv, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`), env: o.env ?? {}, fetch: o.fetch });
  return { code, out, err };
}

describe("storm inspect - argument parsing", () => {
  test("defaults come from the environment, flags override them, in any position and as --flag=value", () => {
    expect(parseInspectArgs(["nodes"], {})).toEqual({ command: { cmd: "nodes" }, url: "http://127.0.0.1:8080", token: undefined, json: false });
    expect(parseInspectArgs(["nodes"], { STORM_URL: "http://h:9000/", STORM_TOKEN: "t1" })).toMatchObject({ url: "http://h:9000", token: "t1" });
    expect(parseInspectArgs(["nodes"], { STORM_URL: "", STORM_TOKEN: "" })).toMatchObject({ url: "http://127.0.0.1:8080", token: undefined });
    const a = parseInspectArgs(["--json", "actors", "--prefix=channel:", "--node", "n1", "--url", "http://x:1", "--token=t2"], { STORM_TOKEN: "env" });
    expect(a).toEqual({ command: { cmd: "actors", prefix: "channel:", node: "n1" }, url: "http://x:1", token: "t2", json: true });
    expect(parseInspectArgs(["actors"]).command).toEqual({ cmd: "actors", prefix: "", node: undefined });
    expect(parseInspectArgs(["actor", "channel:dm:alice:bob"]).command).toEqual({ cmd: "actor", id: "channel:dm:alice:bob" });
    expect(parseInspectArgs(["migrate", "channel:g", "--to", "n2"]).command).toEqual({ cmd: "migrate", id: "channel:g", to: "n2" });
    expect(parseInspectArgs(["drain", "n1.lx2k"]).command).toEqual({ cmd: "drain", node: "n1.lx2k" });
    expect(parseInspectArgs(["--", "drain", "-odd"]).command).toEqual({ cmd: "drain", node: "-odd" });
  });

  test("--help anywhere, or `help`, wins over everything else", () => {
    for (const argv of [["--help"], ["-h"], ["help"], ["migrate", "--help"], ["bogus", "--nope", "-h"]]) {
      expect(parseInspectArgs(argv).command, argv.join(" ")).toEqual({ cmd: "help" });
    }
  });

  test.each([
    [[], /no command given/],
    [["bogus"], /unknown command/],
    [["nodes", "--verbose"], /unknown option "--verbose"/],
    [["nodes", "--url"], /--url needs a value/],
    [["nodes", "--token", "--json"], /--token needs a value/],
    [["nodes", "--prefix", "x"], /--prefix does not apply to "nodes"/],
    [["actors", "--to", "n2"], /--to does not apply to "actors"/],
    [["actor"], /missing ID/],
    [["actor", "general"], /Cannot parse actor id: "general"/],
    [["nodes", "extra"], /unexpected argument "extra"/],
    [["migrate", "channel:g"], /missing --to NODE/],
    [["drain"], /missing NODE/],
    [["nodes", "--url", "127.0.0.1:8080"], /no scheme \(did you mean http:\/\/127.0.0.1:8080\?\)/],
    [["nodes", "--url", "http://[::1"], /not a valid URL/],
    [["nodes", "--url", "ftp://h"], /scheme ftp: is not http/],
    [["nodes", "--url="], /--url needs a non-empty value/],
  ])("%j is a usage error", (argv, message) => {
    expect(() => parseInspectArgs(argv as string[])).toThrow(InspectUsageError);
    expect(() => parseInspectArgs(argv as string[])).toThrow(message);
  });

  test("node addresses map to HTTP bases: ws to http, wss to https", () => {
    expect(normalizeUrl("ws://10.0.0.2:8080")).toBe("http://10.0.0.2:8080");
    expect(normalizeUrl("ws://10.0.0.2:8080/cluster")).toBe("http://10.0.0.2:8080");
    expect(normalizeUrl("wss://storm.example")).toBe("https://storm.example");
    expect(normalizeUrl("https://storm.example/api/")).toBe("https://storm.example/api");
  });
});

describe("storm inspect - formatting", () => {
  test("tables align columns, right-align numbers, print missing values as - and no trailing spaces", () => {
    const text = formatTable(
      [{ header: "ID" }, { header: "N", align: "right" }, { header: "STATE" }],
      [["channel:general", 3, "active"], ["s:a", 1234, null], ["x", undefined, ""]],
    );
    expect(text.split("\n")).toEqual([
      "ID                  N  STATE",
      "channel:general     3  active",
      "s:a              1234  -",
      "x                   -",
    ]);
    expect(formatTable([{ header: "A" }, { header: "B" }], [])).toBe("A  B");
  });

  test("key/value pairs and durations", () => {
    expect(formatPairs([["id", "channel:g"], ["lastSeq", 4], ["snapshot", null]], "  ")).toBe("  id        channel:g\n  lastSeq   4\n  snapshot  -");
    expect([0, 420, 4_260, 42_000, 184_000, 7_380_000, 273_600_000].map(formatDuration)).toEqual(["0ms", "420ms", "4.2s", "42s", "3m04s", "2h03m", "3d04h"]);
    expect(formatDuration(null)).toBe("-");
  });

  test("placements merge with their owner's live entry; unknown live values print as -", () => {
    const status: NodeStatus = {
      node: "n1.a", connections: 0, channels: 0, delivered: 0, workers: [{ index: 0, actors: 1 }],
      actors: [{ id: "channel:g", worker: 0, epoch: 3, state: "active", depth: 2, idleMs: 1500, lastSeq: 41, snapshotAgeMs: 65_000 }],
    };
    const rows = mergePlacements([
      { id: "channel:z", placement: { node: "n2.b", worker: 1, epoch: 7 } },
      { id: "channel:g", placement: { node: "n1.a", worker: 0, epoch: 3 } },
    ], new Map([["n1.a", status]]));
    expect(rows).toEqual([
      { id: "channel:g", node: "n1.a", worker: 0, epoch: 3, state: "active", depth: 2, lastSeq: 41, idleMs: 1500, snapshotAgeMs: 65_000 },
      { id: "channel:z", node: "n2.b", worker: 1, epoch: 7, state: null, depth: null, lastSeq: null, idleMs: null, snapshotAgeMs: null },
    ]);
    expect(renderActors(rows).split("\n")).toEqual([
      "ACTOR      NODE  WORKER  EPOCH  STATE   DEPTH  LAST SEQ  IDLE  SNAPSHOT AGE",
      "channel:g  n1.a       0      3  active      2        41  1.5s         1m05s",
      "channel:z  n2.b       1      7  -           -         -     -             -",
    ]);
  });

  test("a node name resolves to the one node id it starts, else stays as given", () => {
    expect(resolveNode(["n1.a", "n2.b"], "n2")).toBe("n2.b");
    expect(resolveNode(["n1.a", "n2.b"], "n1.a")).toBe("n1.a");
    expect(resolveNode(["n1.a", "n2.b"], "n3.dead")).toBe("n3.dead");
    expect(() => resolveNode(["n1.a", "n1.b"], "n1")).toThrow(/any of n1.a, n1.b/);
  });
});

describe("storm inspect - cluster replies (fake server)", () => {
  // Two live nodes; n2's advertised address is ws://, n3's /status is down.
  const replies: Record<string, [number, unknown]> = {
    "GET http://seed:1/admin/nodes": [200, { nodes: [
      { node: "n1.a", address: "ws://internal-n1:1", leaseAgeMs: 400, load: 2, self: true },
      { node: "n2.b", address: "ws://n2:2", leaseAgeMs: 900, load: 1, self: false },
      { node: "n3.c", address: "ws://n3:3", leaseAgeMs: 2900, load: 0, self: false },
    ] }],
    "GET http://seed:1/status": [200, { node: "n1.a", connections: 5, channels: 1, delivered: 9, workers: [{ index: 0, actors: 0 }], actors: [] }],
    "GET http://n2:2/status": [200, { node: "n2.b", connections: 1, channels: 1, delivered: 3, workers: [{ index: 0, actors: 1 }, { index: 1, actors: 0 }], actors: [{ id: "channel:g", worker: 0, epoch: 4, state: "active", depth: 0, idleMs: 10, lastSeq: 12 }] }],
    "GET http://n3:3/status": [503, { error: { code: "unavailable", message: "Node is stopping" } }],
    "GET http://seed:1/admin/placements?prefix=channel%3A": [200, { placements: [{ id: "channel:g", placement: { node: "n2.b", worker: 0, epoch: 4 } }] }],
    "POST http://seed:1/admin/migrate": [200, { from: "n2.b", to: "n1.a" }],
  };
  const calls: string[] = [];
  const fake: FetchLike = async (url, init) => {
    const key = `${init.method} ${url}`;
    calls.push(init.body ? `${key} ${init.body}` : key);
    const [status, body] = replies[key] ?? [404, { error: { code: "not_found", message: `No route for ${key}` } }];
    return { status, text: async () => JSON.stringify(body) };
  };
  const opts = { env: { STORM_URL: "http://seed:1", STORM_TOKEN: "t" }, fetch: fake };

  test("nodes asks the seed at --url, the others at their address; a failing node shows - and a warning", async () => {
    const r = await run(["nodes"], opts);
    expect(r.code).toBe(0);
    expect(r.out.trimEnd().split("\n")).toEqual([
      "NODE  ADDRESS             SELF  LEASE AGE  LOAD  CONNS  CHANNELS  WORKERS  ACTORS",
      "n1.a  ws://internal-n1:1  *         400ms     2      5         1        1       0",
      "n2.b  ws://n2:2                     900ms     1      1         1        2       1",
      "n3.c  ws://n3:3                      2.9s     0      -         -        -       -",
    ]);
    expect(r.err).toBe("storm inspect: warning: Cannot read /status of n3.c at http://n3:3: Node is stopping (unavailable)\n");
    const json = JSON.parse((await run(["nodes", "--json"], opts)).out) as { mode: string; nodes: Array<{ node: string; actors: number | null; error: string | null }> };
    expect(json.mode).toBe("cluster");
    expect(json.nodes.map((n) => [n.node, n.actors, n.error === null])).toEqual([["n1.a", 0, true], ["n2.b", 1, true], ["n3.c", null, false]]);
  });

  test("actors merges placements with the owner's /status; migrate resolves a short node name", async () => {
    const a = await run(["actors", "--prefix", "channel:", "--json"], opts);
    expect(JSON.parse(a.out)).toEqual({ mode: "cluster", actors: [{ id: "channel:g", node: "n2.b", worker: 0, epoch: 4, state: "active", depth: 0, lastSeq: 12, idleMs: 10, snapshotAgeMs: null }] });
    calls.length = 0;
    const m = await run(["migrate", "channel:g", "--to", "n1"], opts);
    expect(m).toMatchObject({ code: 0, out: "migrated channel:g: n2.b -> n1.a\n", err: "" });
    expect(calls).toContain(`POST http://seed:1/admin/migrate {"actor":"channel:g","to":"n1.a"}`);
  });

  test("server errors exit 1 with one line; unreachable nodes say why", async () => {
    const d = await run(["drain", "n9"], opts);
    expect(d).toMatchObject({ code: 1, out: "" });
    expect(d.err).toBe("storm inspect: Cannot drain n9: No route for POST http://seed:1/admin/drain (not_found)\n");
    const down: FetchLike = async () => {
      throw new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED 127.0.0.1:1") });
    };
    const u = await run(["nodes", "--url", "http://127.0.0.1:1", "--token", "t"], { fetch: down });
    expect(u).toEqual({ code: 1, out: "", err: "storm inspect: Cannot reach http://127.0.0.1:1 (GET /admin/nodes): connect ECONNREFUSED 127.0.0.1:1\n" });
  });
});

describe("storm inspect - against a real single node", () => {
  let s: StormProcess;
  beforeAll(async () => {
    s = await startStorm({ workers: 2, args: ["--dev-admin"] });
    const alice = await s.token("alice");
    expect((await s.http("POST", "/channels", { token: alice, body: { name: "inspected" } })).status).toBe(201);
    for (const [i, body] of ["one", "two", "three"].entries()) {
      expect((await s.http("POST", "/channels/inspected/messages", { token: alice, body: { clientId: `m${i}`, body } })).status).toBe(201);
    }
  });
  afterAll(async () => {
    await s?.stop();
  });

  test("nodes shows the one node with its live stats (dev token announced on stderr)", async () => {
    const r = await run(["nodes", "--url", s.url]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^storm inspect: no --token or STORM_TOKEN: using a dev token for user "inspector" \(role admin\)/);
    const lines = r.out.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^NODE\s+ADDRESS\s+SELF\s+LEASE AGE\s+LOAD\s+CONNS\s+CHANNELS\s+WORKERS\s+ACTORS$/);
    // Single node: no lease, no load; the node's actors are channel:inspected and session:alice.
    expect(lines[1]!.split(/\s+/)).toEqual(["n1", s.url, "*", "-", "-", "0", "0", "2", "2"]);
    const migrate = await run(["migrate", "channel:inspected", "--to", "n2", "--url", s.url]);
    expect(migrate.code).toBe(2);
    expect(migrate.err).toMatch(/\nstorm inspect: Cannot migrate channel:inspected: .* is a single node, not in cluster mode/);
  });

  test("`storm inspect actors --json` (the built command) lists the channel with its last seq", async () => {
    const entry = fileURLToPath(new URL("../dist/bin/storm.js", import.meta.url));
    const admin = await s.http("POST", "/auth/dev-token", { body: { user: "ops", role: "admin" } });
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [entry, "inspect", "actors", "--prefix", "channel:", "--json"], {
      env: { ...process.env, STORM_URL: s.url, STORM_TOKEN: admin.body.token as string },
    });
    expect(stderr).toBe("");
    expect(JSON.parse(stdout)).toEqual({
      mode: "single",
      actors: [{ id: "channel:inspected", node: "n1", worker: expect.any(Number), epoch: 1, state: "active", depth: 0, lastSeq: 3, idleMs: expect.any(Number), snapshotAgeMs: null }],
    });
  });
});
