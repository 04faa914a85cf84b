import { mkdtempSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../cli/cli_args.ts";
import { defaultWorkerCount, loadConfig, type NodeConfig } from "./config.ts";

const SECRET = "s".repeat(40);
const cfg = (argv: string[], env: Record<string, string> = {}): NodeConfig => loadConfig(argv, env).config!;

describe("config", () => {
  it("config - the default worker count leaves one core to the edge, and is at least one", () => {
    expect([1, 2, 3, 8].map((cores) => defaultWorkerCount(cores))).toEqual([1, 1, 2, 7]);
    expect(cfg([]).workers).toBe(defaultWorkerCount(availableParallelism()));
  });

  it("config - --workers, then STORM_WORKERS, override the default", () => {
    expect(cfg(["--workers", "3"], { STORM_WORKERS: "5" }).workers).toBe(3);
    expect(cfg([], { STORM_WORKERS: "5" }).workers).toBe(5);
    expect(() => cfg(["--workers", "two"])).toThrow(/--workers/);
  });

  it("config - --log-level, then STORM_LOG_LEVEL, picks the JSON logs' level; another word is an error", () => {
    expect(cfg([]).logLevel).toBe("info");
    expect(cfg(["--log-level", "debug"], { STORM_LOG_LEVEL: "error" }).logLevel).toBe("debug");
    expect(cfg([], { STORM_LOG_LEVEL: "warn" }).logLevel).toBe("warn");
    expect(() => cfg(["--log-level", "verbose"])).toThrow(new UsageError('Cannot read --log-level: "verbose" is not one of debug, info, warn, error'));
  });

  it("config - --lean-embedded shrinks the embedded store only: with --postgres it is refused", () => {
    expect(cfg([]).leanEmbedded).toBe(false);
    expect(cfg(["--lean-embedded"]).leanEmbedded).toBe(true);
    expect(cfg([], { STORM_LEAN_EMBEDDED: "1" }).leanEmbedded).toBe(true);
    expect(() => cfg(["--lean-embedded", "--postgres", "postgres://x"])).toThrow(new UsageError("Cannot use --lean-embedded with --postgres: it shrinks the embedded store, which a PostgreSQL node does not run"));
  });

  it("config - an unknown flag is an error that names the flag it resembles", () => {
    expect(() => cfg(["--jwt-secert", "abc"])).toThrow(new UsageError('Cannot parse arguments: unknown option "--jwt-secert" (did you mean --jwt-secret?)'));
    expect(() => cfg(["--wrokers", "2"])).toThrow(/unknown option "--wrokers" \(did you mean --workers\?\)/);
  });

  it("config - a flag without its value, a bad value, or a stray argument is an error", () => {
    expect(() => cfg(["--port"])).toThrow(/--port needs a value/);
    expect(() => cfg(["--port", "--workers", "2"])).toThrow(/--port needs a value/);
    expect(() => cfg(["--port", "abc"])).toThrow(/Cannot read --port: "abc"/);
    expect(() => cfg(["--port", "70000"])).toThrow(/--port/);
    expect(() => cfg([], { STORM_PORT: "x" })).toThrow(/Cannot read STORM_PORT/);
    expect(() => cfg(["8080"])).toThrow(/unexpected argument "8080"/);
  });

  it("config - --help wins over everything else on the line and reads nothing", () => {
    expect(loadConfig(["--port", "abc", "--help"], { STORM_JWT_SECERT: "x" })).toEqual({ help: true, version: false, warnings: [] });
    expect(loadConfig(["--version"], {}).version).toBe(true);
  });

  it("config - a STORM_ variable whose name is a typo of a known one is an error; unrelated ones are not", () => {
    expect(() => cfg([], { STORM_JWT_SECERT: SECRET })).toThrow(/unknown variable STORM_JWT_SECERT \(did you mean STORM_JWT_SECRET\?\)/);
    expect(() => cfg([], { STORM_WORKER: "2" })).toThrow(/did you mean STORM_WORKERS/);
    expect(cfg([], { STORM_SOMETHING_ELSE_ENTIRELY: "1", STORM_CACHE: "/tmp" }).port).toBe(8080);
  });

  it("config - a non-loopback host needs a JWT secret", () => {
    expect(() => cfg(["--host", "0.0.0.0"])).toThrow(/Cannot serve on --host 0.0.0.0 without a JWT secret/);
    expect(cfg(["--host", "0.0.0.0"], { STORM_JWT_SECRET: SECRET }).host).toBe("0.0.0.0");
    expect(cfg(["--host", "::1"]).host).toBe("::1");
  });

  it("config - secrets come from files, from variables, or from argv with a warning", () => {
    const dir = mkdtempSync(join(tmpdir(), "storm-config-"));
    writeFileSync(join(dir, "jwt"), `${SECRET}\n`);
    writeFileSync(join(dir, "cluster"), "c-secret\n");
    const fromFiles = loadConfig(["--jwt-secret-file", join(dir, "jwt")], { STORM_CLUSTER_SECRET_FILE: join(dir, "cluster") });
    expect([fromFiles.config!.jwtSecret, fromFiles.config!.clusterSecret, fromFiles.warnings]).toEqual([SECRET, "c-secret", []]);
    expect(cfg([], { STORM_JWT_SECRET: SECRET }).jwtSecret).toBe(SECRET);
    const argv = loadConfig(["--jwt-secret", SECRET], {});
    expect(argv.config!.jwtSecret).toBe(SECRET);
    expect(argv.warnings).toEqual([expect.stringMatching(/--jwt-secret on the command line is visible .*--jwt-secret-file/)]);
    expect(() => cfg(["--jwt-secret-file", join(dir, "missing")])).toThrow(/Cannot read the jwt secret from .*missing: ENOENT/);
    expect(() => cfg(["--jwt-secret", "short"])).toThrow(/at least 32 bytes/);
  });

  it("config - admin dev tokens only with --dev-admin, which is warned about", () => {
    expect(cfg([]).devAdmin).toBe(false);
    const on = loadConfig(["--dev-admin"], {});
    expect(on.config!.devAdmin).toBe(true);
    expect(on.warnings).toEqual([expect.stringMatching(/ADMIN tokens/)]);
    expect(() => cfg(["--dev-admin"], { STORM_JWT_SECRET: SECRET })).toThrow(/--dev-admin/);
  });
});
