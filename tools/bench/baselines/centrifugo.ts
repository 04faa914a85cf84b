// Centrifugo as a benchmark baseline: the binary (built once by deploy/centrifugo.sh into a cache
// outside the repository) and the configuration each run generates for it.
//
// What is compared: Centrifugo v6 with its memory engine (no history, no durable journal: a
// publish is acknowledged once it is handed to the subscribers' queues) against Storm, which acks a
// publish after its durable commit. Clients speak Centrifugo's WebSocket JSON protocol
// (/connection/websocket, a connection JWT signed with the run's HMAC secret, then client-side
// subscribes to any channel); publishes go through its HTTP server API as a backend's would
// (tools/bench/centrifugo_clients.ts).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, import.meta.url.endsWith('.ts') ? '../../..' : '../../../..');

/** The durability difference, said beside every ratio against Centrifugo. */
export const CENTRIFUGO_DURABILITY = 'Centrifugo: memory engine, no durable journal; Storm: acked after a durable commit';

/** Secrets a run shares between the server it configures and its load processes. */
export interface CentrifugoSecrets {
  /** HS256 secret of connection tokens (`client.token.hmac_secret_key`). */
  tokenSecret: string;
  /** `X-API-Key` of the HTTP server API. */
  apiKey: string;
}

export function centrifugoSecrets(): CentrifugoSecrets {
  return { tokenSecret: randomBytes(32).toString('hex'), apiKey: randomBytes(16).toString('hex') };
}

let cached: { bin: string } | { skip: string } | undefined;

/**
 * The Centrifugo binary, built on first use (`deploy/centrifugo.sh fetch`, minutes the first time),
 * or why the target is skipped (Go absent, the build failed).
 */
export function centrifugoBinary(): { bin: string } | { skip: string } {
  if (cached) return cached;
  try {
    const out = execFileSync('bash', [path.join(repoRoot, 'deploy/centrifugo.sh'), 'fetch'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    cached = { bin: out.trim().split('\n').pop()! };
  } catch (e) {
    const err = e as { stderr?: string; message?: string };
    const last = String(err.stderr ?? err.message ?? e).trim().split('\n').pop();
    cached = { skip: `Centrifugo unavailable (${last})` };
  }
  return cached;
}

/** The binary if it is already built (never builds): for tests, which skip without it. */
export function cachedCentrifugo(): string | undefined {
  try {
    return execFileSync('bash', [path.join(repoRoot, 'deploy/centrifugo.sh'), 'path'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/**
 * Writes `dir/centrifugo.json`: HTTP on 127.0.0.1:`port` (WebSocket at /connection/websocket, the
 * server API at /api), the memory engine, connection JWTs checked with the run's secret, any
 * channel open to a client's subscribe, logs at error level. Returns the command line.
 */
export function centrifugoCommand(bin: string, dir: string, port: number, s: CentrifugoSecrets): { cmd: string; args: string[] } {
  const config = {
    http_server: { address: '127.0.0.1', port },
    log: { level: 'error' },
    engine: { type: 'memory' },
    client: { token: { hmac_secret_key: s.tokenSecret }, allowed_origins: ['*'] },
    channel: { without_namespace: { allow_subscribe_for_client: true } },
    http_api: { key: s.apiKey },
  };
  const file = path.join(dir, 'centrifugo.json');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(config, null, 1));
  return { cmd: bin, args: ['--config', file] };
}
