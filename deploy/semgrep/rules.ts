// Cases for rules.yml (semgrep --test deploy/semgrep). Not compiled, not run: patterns only.
import { exec, execFile, execSync, spawn } from "node:child_process";
import * as cp from "node:child_process";
import { decodeJwt, jwtVerify } from "jose";

declare const frame: string;
declare const cfg: { jwtSecret: string; clusterSecret: string; postgresUrl: string; port: number };
declare const given: string;
declare const secret: string;
declare const key: Uint8Array;
declare function log(msg: string, err?: unknown): void;

// ruleid: storm-no-dynamic-code
eval(frame);
// ruleid: storm-no-dynamic-code
const f = new Function("a", frame);
// ruleid: storm-no-dynamic-code
setTimeout("tick()", 10);
// ok: storm-no-dynamic-code
setTimeout(() => f(), 10);

// ruleid: storm-no-shell
exec(`pg_ctl -D ${frame} start`);
// ruleid: storm-no-shell
execSync("ls");
// ruleid: storm-no-shell
cp.exec("ls");
// ruleid: storm-no-shell
spawn("node", [frame], { stdio: "inherit", shell: true });
// ruleid: storm-no-shell
execFile("ls", [frame], { shell: true });
// ok: storm-no-shell
spawn("node", ["dist/bin/storm.js", "serve"], { stdio: "inherit" });
// ok: storm-no-shell
/x/.exec(frame);

// ruleid: storm-secret-on-command-line
spawn("node", ["dist/bin/storm.js", "serve", "--cluster-secret", secret]);
// ruleid: storm-secret-on-command-line
const args = ["serve", "--jwt-secret", secret];
// ok: storm-secret-on-command-line
spawn("node", ["dist/bin/storm.js", "serve", "--cluster-secret-file", "/run/secret"]);

// ruleid: storm-secret-in-log
console.log(`starting with ${cfg.jwtSecret}`);
// ruleid: storm-secret-in-log
log("connecting to", cfg.postgresUrl);
// ruleid: storm-secret-in-log
console.error("config", JSON.stringify(cfg));
// ok: storm-secret-in-log
console.log(`listening on ${cfg.port}`);
// ok: storm-secret-in-log
console.log(JSON.stringify({ store: cfg.postgresUrl ? "postgres" : "pglite" }));

// ruleid: storm-tls-verification-off
const ssl = { rejectUnauthorized: false };
// ok: storm-tls-verification-off
const ssl2 = { rejectUnauthorized: true, ca: frame };

async function auth(token: string) {
  // ruleid: storm-jwt-decoded-not-verified
  const claims = decodeJwt(token);
  // ok: storm-jwt-decoded-not-verified
  const verified = await jwtVerify(token, key);
  return [claims, verified];
}

// ruleid: storm-secret-compared-in-variable-time
if (secret === given) log("in");
// ok: storm-secret-compared-in-variable-time
if (secret === undefined) log("none");

// ruleid: storm-insecure-random-for-secret
const sessionToken = Math.random().toString(36);
// ok: storm-insecure-random-for-secret
const jitter = Math.random() * 100;

export { args, ssl, ssl2, auth, sessionToken, jitter };
