import { describe, expect, it } from "vitest";
import { checkStormEnv, closest, intValue, parseFlags, UsageError } from "./cli_args.ts";

describe("cli args", () => {
  it("cli - strict parsing: unknown flags with a suggestion, missing values, stray arguments", () => {
    const specs = { rate: { type: "string" as const }, json: { type: "boolean" as const } };
    expect(parseFlags(["--rate", "5", "--json"], specs).values).toEqual({ rate: "5", json: true });
    expect(() => parseFlags(["--rat", "5"], specs)).toThrow(new UsageError('Cannot parse arguments: unknown option "--rat" (did you mean --rate?)'));
    expect(() => parseFlags(["--rate"], specs)).toThrow(/--rate needs a value$/);
    expect(() => parseFlags(["--rate", "--json"], specs)).toThrow(/--rate needs a value \(write --rate=VALUE/);
    expect(() => parseFlags(["--json=yes"], specs)).toThrow(UsageError);
    expect(() => parseFlags(["x"], specs)).toThrow(/unexpected argument "x"/);
    expect(parseFlags(["x", "--", "--y"], specs, { positionals: true }).positionals).toEqual(["x", "--y"]);
  });

  it("cli - --help and --version win over any mistake, but not after --", () => {
    expect(parseFlags(["--bogus", "-h"], {})).toMatchObject({ help: true, version: false });
    expect(parseFlags(["--version", "--bogus"], {})).toMatchObject({ help: false, version: true });
    expect(() => parseFlags(["--", "--help"], {})).toThrow(/unexpected argument "--help"/);
  });

  it("cli - a dash-valued flag takes the next argument whole", () => {
    expect(parseFlags(["--args", "--cpu-prof --x=1"], { args: { type: "string", dashValue: true } }).values).toEqual({ args: "--cpu-prof --x=1" });
  });

  it("cli - integers are checked for form and range, naming their source", () => {
    expect(intValue(undefined, "--port", 8080)).toBe(8080);
    expect(intValue("0", "--port", 8080, 0, 65_535)).toBe(0);
    expect(() => intValue("8080x", "STORM_PORT", 1)).toThrow(/Cannot read STORM_PORT: "8080x"/);
    expect(() => intValue("1.5", "--n", 1)).toThrow(UsageError);
    expect(() => intValue("0", "--workers", 1, 1)).toThrow(/--workers/);
  });

  it("cli - a STORM_ variable two edits or fewer from a known one is a typo; others pass", () => {
    expect(() => checkStormEnv({ STORM_JWT_SECERT: "x" })).toThrow(/did you mean STORM_JWT_SECRET\?/);
    expect(() => checkStormEnv({ STORM_PROT: "1" })).toThrow(/did you mean STORM_PORT\?/);
    expect(() => checkStormEnv({ STORM_PORT: "1", STORM_TOKEN: "t", STORM_SOMETHING_NEW: "1", PATH: "/bin" })).not.toThrow();
    expect(closest("wrokers", ["workers", "port"])).toBe("workers");
    expect(closest("zzz", ["workers", "port"])).toBeUndefined();
  });
});
