import { parseActorId } from "../runtime/core/actor_id.ts";
import { type FlagSpecs, type Parsed, parseFlags, UsageError } from "./cli_args.ts";

export const USAGE = `storm inspect: look at and move the actors of a Storm node or cluster

  storm inspect nodes                              live nodes: address, lease age, load, connections, actors
  storm inspect actors [--prefix channel:] [--node ID]
                                                   placements merged with each owner's live state
  storm inspect actor ID                           everything known about one actor (e.g. channel:general)
  storm inspect migrate ID --to NODE               move one actor to another live node (cluster only)
  storm inspect drain NODE                         move every actor off a node (cluster only)

Options (every command):
  --url URL      the node to ask (default $STORM_URL or http://127.0.0.1:8080)
  --token T      an admin bearer token (default $STORM_TOKEN; without one, a dev token for
                 user "inspector" is requested from POST /auth/dev-token)
  --json         print one JSON document with a stable shape instead of a table
  --help         print this help
  --version      print the version

NODE may be a full node id (n1.lx2k9a) or its unique name before the dot (n1).
Live values the owning node could not report are shown as "-" (null in JSON).
Without a cluster, nodes and actors show the one node's /status; migrate and drain exit 2.
Exit status: 0 done, 1 the server failed or refused, 2 bad usage.`;

export const DEFAULT_URL = "http://127.0.0.1:8080";

export type InspectCommand =
  | { cmd: "help" }
  | { cmd: "version" }
  | { cmd: "nodes" }
  | { cmd: "actors"; prefix: string; node: string | undefined }
  | { cmd: "actor"; id: string }
  | { cmd: "migrate"; id: string; to: string }
  | { cmd: "drain"; node: string };

export interface InspectArgs {
  command: InspectCommand;
  /** HTTP base of the node to ask, without a trailing slash. */
  url: string;
  /** Admin token from --token or STORM_TOKEN; undefined: ask the dev-token route. */
  token: string | undefined;
  json: boolean;
}

/** Bad usage: exit status 2. */
export class InspectUsageError extends Error {
  override name = "InspectUsageError";
}

const COMMANDS = ["nodes", "actors", "actor", "migrate", "drain"] as const;
/** Each option and the commands it applies to. */
const APPLIES: Record<string, ReadonlyArray<string>> = {
  url: COMMANDS,
  token: COMMANDS,
  json: COMMANDS,
  prefix: ["actors"],
  node: ["actors"],
  to: ["migrate"],
};
const SPECS: FlagSpecs = {
  url: { type: "string" }, token: { type: "string" }, json: { type: "boolean" }, prefix: { type: "string" }, node: { type: "string" }, to: { type: "string" },
};
const POSITIONALS: Record<(typeof COMMANDS)[number], string[]> = { nodes: [], actors: [], actor: ["ID"], migrate: ["ID"], drain: ["NODE"] };

/**
 * Parses `storm inspect` arguments (everything after `inspect`) with the strict parser every Storm
 * command uses. Flags may come before or after the command, as `--flag value` or `--flag=value`;
 * `--` ends the flags; `--help` wins over the rest.
 * @throws {InspectUsageError}
 */
export function parseInspectArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): InspectArgs {
  let parsed: Parsed;
  try {
    parsed = parseFlags(argv, SPECS, { positionals: true });
  } catch (err) {
    throw err instanceof UsageError ? new InspectUsageError(err.message) : err;
  }
  const json = parsed.values["json"] === true;
  if (parsed.help || parsed.positionals[0] === "help") return { command: { cmd: "help" }, url: DEFAULT_URL, token: undefined, json: false };
  if (parsed.version) return { command: { cmd: "version" }, url: DEFAULT_URL, token: undefined, json: false };
  const flags = new Map(Object.entries(parsed.values).filter(([k, v]) => typeof v === "string" && k !== "json") as Array<[string, string]>);
  const positional = parsed.positionals;

  const name = positional[0];
  if (name === undefined) throw new InspectUsageError(`Cannot run: no command given (one of ${COMMANDS.join(", ")}; see storm inspect --help)`);
  if (!(COMMANDS as readonly string[]).includes(name)) {
    throw new InspectUsageError(`Cannot run "${name}": unknown command (one of ${COMMANDS.join(", ")}; see storm inspect --help)`);
  }
  const cmd = name as (typeof COMMANDS)[number];
  for (const flag of flags.keys()) {
    if (!APPLIES[flag]!.includes(cmd)) throw new InspectUsageError(`Cannot parse arguments: --${flag} does not apply to "${cmd}"`);
  }
  const want = POSITIONALS[cmd];
  const args = positional.slice(1);
  if (args.length < want.length) throw new InspectUsageError(`Cannot run "${cmd}": missing ${want[args.length]} (storm inspect ${cmd} ${want.join(" ")})`);
  if (args.length > want.length) throw new InspectUsageError(`Cannot run "${cmd}": unexpected argument "${args[want.length]}"`);
  for (const [flag, v] of flags) {
    if (v === "" && flag !== "prefix") throw new InspectUsageError(`Cannot parse arguments: --${flag} needs a non-empty value`);
  }

  const url = normalizeUrl(flags.get("url") ?? nonEmpty(env["STORM_URL"]) ?? DEFAULT_URL);
  const token = flags.get("token") ?? nonEmpty(env["STORM_TOKEN"]);
  const command = ((): InspectCommand => {
    switch (cmd) {
      case "nodes":
        return { cmd };
      case "actors":
        return { cmd, prefix: flags.get("prefix") ?? "", node: flags.get("node") };
      case "actor":
        return { cmd, id: actorIdArg(args[0]!) };
      case "migrate": {
        const to = flags.get("to");
        if (to === undefined) throw new InspectUsageError(`Cannot run "migrate": missing --to NODE (storm inspect migrate ID --to NODE)`);
        return { cmd, id: actorIdArg(args[0]!), to };
      }
      case "drain":
        return { cmd, node: args[0]! };
    }
  })();
  return { command, url, token, json };
}

/**
 * The HTTP base (`http://host:port`) for a `--url` or a node address. Node addresses are
 * `ws://host:port` (cluster links run on the node's HTTP port), so ws maps to http, wss to https.
 * @throws {InspectUsageError}
 */
export function normalizeUrl(raw: string): string {
  if (!raw.includes("://")) throw new InspectUsageError(`Cannot use URL "${raw}": no scheme (did you mean http://${raw}?)`);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new InspectUsageError(`Cannot use URL "${raw}": not a valid URL (e.g. http://127.0.0.1:8080)`);
  }
  const scheme = ({ "http:": "http:", "https:": "https:", "ws:": "http:", "wss:": "https:" } as Record<string, string>)[u.protocol];
  if (!scheme) throw new InspectUsageError(`Cannot use URL "${raw}": scheme ${u.protocol} is not http(s) or ws(s)`);
  const path = u.pathname.replace(/\/+$/, "");
  return `${scheme}//${u.host}${scheme === u.protocol ? path : ""}`;
}

function actorIdArg(id: string): string {
  try {
    parseActorId(id);
  } catch (err) {
    throw new InspectUsageError(`${(err as Error).message} (actor ids are KIND:KEY, e.g. channel:general)`);
  }
  return id;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === "" ? undefined : v;
}
