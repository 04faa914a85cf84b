import { SignJWT } from "jose";
import { dmName, Population } from "./population.ts";

/** A recording client of the history checker: its user, token and rooms. */
export interface Recorder {
  name: string;
  token: string;
  channels: string[];
}

export interface SetupResult {
  recorders: Recorder[][];
  /** Every channel the recorders use (the checker's scope). */
  checked: string[];
  rooms: number;
  dms: number;
}

export interface SetupOptions {
  pop: Population;
  /** `http://127.0.0.1:PORT` of every node: calls are spread over them. */
  bases: string[];
  secret: string;
  /** Recording clients per group (each group: huge room 0 and its small room). */
  perGroup: number;
  concurrency: number;
  log(line: string): void;
}

const OWNER = "stormday-owner";
/** The two recording clients of the sampled DM. */
export const RECORDING_DM: readonly [string, string] = ["recdma", "recdmb"];
const MAX_CREATE_MEMBERS = 1_000;

/**
 * Creates Storm Day's rooms and memberships over REST before anyone subscribes (a join announced
 * to a full room would cost every subscriber a `member` frame): public rooms with their members
 * (at most 1,000 at creation, the rest invited), the DMs (opened by one of the two users), and
 * the recording clients' memberships, including one DM between two of them.
 */
export async function setUpDay(o: SetupOptions): Promise<SetupResult> {
  const token = tokenSigner(o.secret);
  const owner = await token(OWNER);
  let next = 0;
  const call = (path: string, body: unknown, bearer: string) => rest(() => o.bases[next++ % o.bases.length]!, bearer, path, body);
  const rooms = o.pop.publicRooms();
  const name = Population.userName;
  const jobs: Array<() => Promise<unknown>> = [];
  for (const [room, members] of rooms) {
    jobs.push(async () => {
      await call("/channels", { name: room, members: members.slice(0, MAX_CREATE_MEMBERS).map(name) }, owner);
      for (let k = MAX_CREATE_MEMBERS; k < members.length; k++) await call(`/channels/${room}/members`, { user: name(members[k]!) }, owner);
    });
  }
  const pairs = o.pop.dmPairs();
  for (const [a, b] of pairs) jobs.push(async () => call(`/users/${name(b)}/dm`, undefined, await token(name(a))));
  await runAll(jobs, o.concurrency, (done) => o.log(`setup: ${done} of ${jobs.length} rooms and DMs`));

  const recorders: Recorder[][] = [];
  for (let g = 0; g < o.pop.groups; g++) {
    const channels = ["huge0", `s0-${g}`];
    const group: Recorder[] = [];
    for (let j = 0; j < o.perGroup; j++) {
      const user = `rec${g}x${j}`;
      const t = await token(user);
      for (const ch of channels) await call(`/channels/${ch}/members`, { user }, t);
      group.push({ name: user, token: t, channels });
    }
    recorders.push(group);
  }
  const [a, b] = RECORDING_DM;
  const [ta, tb] = [await token(a), await token(b)];
  const dm = ((await call(`/users/${b}/dm`, undefined, ta)) as { channel: string }).channel;
  if (dm !== dmName(a, b)) throw new Error(`Cannot set up the recording DM: the server named it ${dm}`);
  recorders.push([{ name: a, token: ta, channels: [dm] }, { name: b, token: tb, channels: [dm] }]);
  return { recorders, checked: [...new Set(recorders.flat().flatMap((r) => r.channels))], rooms: rooms.size, dms: pairs.length };
}

/** Signs user tokens the way a node checks them (HS256, issuer `storm`), as an auth service would. */
export function tokenSigner(secret: string): (user: string, role?: "admin") => Promise<string> {
  const key = new TextEncoder().encode(secret);
  return (user, role) => new SignJWT({ role: role ?? "user" }).setProtectedHeader({ alg: "HS256" }).setIssuer("storm")
    .setSubject(user).setIssuedAt().setExpirationTime(Math.floor(Date.now() / 1000) + 24 * 3600).sign(key);
}

async function runAll(jobs: Array<() => Promise<unknown>>, concurrency: number, progress: (done: number) => void): Promise<void> {
  let i = 0;
  let done = 0;
  let lastLog = Date.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, async () => {
    while (i < jobs.length) {
      await jobs[i++]!();
      done++;
      if (Date.now() - lastLog > 5_000) {
        lastLog = Date.now();
        progress(done);
      }
    }
  }));
}

/**
 * One REST call, retried on another node after `unavailable`/`timeout` and network errors (a node
 * settling, or restarting after it lost its lease on a busy machine). A retried create answered
 * `409` means an earlier attempt went through (its answer was lost).
 */
async function rest(nextBase: () => string, token: string, path: string, body: unknown): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    const base = nextBase();
    let status = 0;
    let text = "";
    try {
      const res = await fetch(`${base}${path}`, {
        method: "POST", headers: { authorization: `Bearer ${token}` },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal: AbortSignal.timeout(15_000),
      });
      status = res.status;
      text = await res.text();
      if (res.ok) return JSON.parse(text);
      if (status === 409 && attempt > 1) return {};
    } catch (err) {
      text = err instanceof Error ? err.message : String(err);
    }
    if (attempt >= 10 || (status !== 0 && status !== 503 && status !== 504 && status !== 429)) {
      throw new Error(`Cannot POST ${path}: ${status || "no answer"} ${text.slice(0, 300)}`);
    }
    await new Promise((r) => setTimeout(r, 250 * attempt));
  }
}
