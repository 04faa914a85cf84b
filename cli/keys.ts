import { existsSync } from "node:fs";
import { join } from "node:path";
import { isScope, newApiKey, type Scope } from "../edge/api_keys.ts";
import type { ApiKeyStore } from "../storage/api_key_store.ts";
import { openPgliteStore } from "../storage/pglite_store.ts";
import { openPostgresStore } from "../storage/postgres_store.ts";
import { DataDirLock } from "../server/data_dir_lock.ts";
import { StartupError } from "../server/startup_error.ts";

export const KEYS_USAGE = `storm keys: server API keys, on the node's store

  storm keys create --scope publish[,broadcast,webhooks,admin] [--scope ...] [--name NAME]
  storm keys list [--json]
  storm keys revoke ID
      [--data-dir .data | --postgres URL]   (as storm serve; STORM_DATA_DIR, STORM_POSTGRES_URL)

The key is printed once, at creation; only its SHA-256 is stored. With the embedded store (no
--postgres) the node's data dir must not be in use: PGlite is single-process. While a node runs
on it, manage keys through the node instead: POST/GET /admin/keys, DELETE /admin/keys/ID with an
admin token (docs/SERVER_API.md).`;

export interface KeysIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
}

/** `storm keys ...`; returns the exit status (0 ok, 1 not found, 2 usage or store error). */
export async function runKeys(argv: readonly string[], io: KeysIo): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === "--help" || cmd === "help") {
    io.out(KEYS_USAGE);
    return 0;
  }
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === "--json") flags.set("json", ["1"]);
    else if (a.startsWith("--")) {
      const v = rest[++i];
      if (v === undefined) return usage(io, `${a} needs a value`);
      flags.set(a.slice(2), [...(flags.get(a.slice(2)) ?? []), v]);
    } else positional.push(a);
  }
  for (const k of flags.keys()) if (!["json", "scope", "name", "data-dir", "postgres"].includes(k)) return usage(io, `unknown flag --${k}`);
  if (cmd !== "create" && cmd !== "list" && cmd !== "revoke") return usage(io, cmd ? `unknown command "${cmd}"` : "");
  let store: (ApiKeyStore & { close(): Promise<void> }) | undefined;
  try {
    store = await openStore(flags.get("postgres")?.[0] ?? io.env["STORM_POSTGRES_URL"], flags.get("data-dir")?.[0] ?? io.env["STORM_DATA_DIR"] ?? ".data");
    if (cmd === "create") {
      const scopes = (flags.get("scope") ?? []).flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean);
      if (scopes.length === 0 || !scopes.every(isScope)) return usage(io, "--scope must name publish, broadcast, webhooks or admin");
      const k = newApiKey();
      const rec = await store.createKey({ id: k.id, name: flags.get("name")?.[0] ?? "", scopes: [...new Set(scopes as Scope[])], hash: k.hash });
      io.out(flags.has("json") ? JSON.stringify({ ...rec, key: k.key }) : `${rec.id}  scopes ${rec.scopes.join(",")}\n${k.key}\n(shown once: store it now)`);
      return 0;
    }
    if (cmd === "list") {
      const keys = await store.listKeys();
      if (flags.has("json")) io.out(JSON.stringify(keys));
      else for (const k of keys) io.out(`${k.id}  ${k.scopes.join(",").padEnd(24)}  ${k.revokedAt ? "revoked" : "live   "}  ${new Date(k.createdAt).toISOString()}  ${k.name}`);
      return 0;
    }
    const id = positional[0];
    if (!id) return usage(io, "revoke needs a key id");
    if (!(await store.revokeKey(id))) {
      io.err(`storm keys: no live key "${id}"`);
      return 1;
    }
    io.out(`${id} revoked`);
    return 0;
  } catch (err) {
    io.err(`storm keys: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  } finally {
    await store?.close();
  }
}

async function openStore(postgres: string | undefined, dataDir: string): Promise<ApiKeyStore & { close(): Promise<void> }> {
  if (postgres) return openPostgresStore(postgres, { poolSize: 1 });
  if (!existsSync(join(dataDir, "pglite"))) throw new Error(`Cannot open ${dataDir}: no embedded store there (start storm serve on it once, or pass --postgres)`);
  // The node's own lock: while a node holds the directory, PGlite (single-process) is its alone.
  let lock: DataDirLock;
  try {
    lock = DataDirLock.acquire(dataDir);
  } catch (err) {
    if (!(err instanceof StartupError)) throw err;
    throw new Error(`${err.message}. PGlite is single-process: use the node's admin routes instead: POST/GET /admin/keys, DELETE /admin/keys/ID with an admin token`);
  }
  try {
    const store = await openPgliteStore(join(dataDir, "pglite"));
    return { ...bind(store), close: async () => { try { await store.close(); } finally { lock.release(); } } };
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** The key operations of `store`, bound, so that its `close` can be wrapped. */
function bind(store: ApiKeyStore): ApiKeyStore {
  return {
    createKey: (k) => store.createKey(k),
    listKeys: () => store.listKeys(),
    revokeKey: (id) => store.revokeKey(id),
    findKey: (hash) => store.findKey(hash),
    revokeTokens: (h, before) => store.revokeTokens(h, before),
    listRevocations: () => store.listRevocations(),
  };
}

function usage(io: KeysIo, why: string): number {
  if (why) io.err(`storm keys: ${why}`);
  io.err(KEYS_USAGE);
  return 2;
}
