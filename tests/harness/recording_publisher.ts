import { Conn, type History, sleep } from "./recording_clients.ts";

export interface PublisherOptions {
  client: string;
  user: string;
  ch: string;
  token: string;
  history: History;
  url(): string;
  /** Publishes in flight at once. */
  width: number;
  /** A message not acknowledged within this long (over all its retries) fails the run. */
  giveUpMs?: number;
  /** An attempt without a reply within this long counts as `timeout` and is sent again. Default 12 s. */
  requestTimeoutMs?: number;
}

export interface AckRecord {
  cid: string;
  seq: number;
  dup: boolean;
  /** When the attempt that got this ack was sent, and when the ack arrived (ms). */
  sentAt: number;
  ackAt: number;
}

/**
 * A publisher that keeps `width` publishes in flight on one channel, each with a fresh client id,
 * and retries a publish whose outcome is unknown (error reply, timeout, lost socket) with the SAME
 * client id until it is acknowledged (G3 makes that safe), reconnecting when its socket closes.
 */
export class RecordingPublisher {
  readonly acks: AckRecord[] = [];
  readonly errors: Array<{ cid: string; code: string; at: number }> = [];
  #conn: Conn | undefined;
  #connecting: Promise<Conn> | undefined;
  #next = 0;
  #stopped = false;
  #closed = false;
  #runs: Promise<void>[] = [];
  #failure: Error | undefined;
  #waiters = new Set<() => void>();

  constructor(readonly o: PublisherOptions) {}

  /** Publishes `count` messages (or, without `count`, until `stop()`); resolves when all are acked. */
  run(count?: number): Promise<void> {
    const lane = async () => {
      while (!this.#stopped && !this.#failure && (count === undefined || this.#next < count)) {
        const cid = `${this.o.client}-${this.#next++}`;
        await this.#publish(cid);
      }
    };
    const all = Promise.all(Array.from({ length: this.o.width }, lane)).then(() => {
      if (this.#failure) throw this.#failure;
    });
    this.#runs.push(all);
    // Awaited by the test (or by stop()); a test that fails before that must not also report it unhandled.
    all.catch(() => {});
    return all;
  }

  /** Stops starting new publishes; resolves once every started one is acknowledged. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#runs);
  }

  /** Abandons everything (test cleanup): unacknowledged publishes are not retried any more. */
  close(): void {
    this.#stopped = true;
    this.#closed = true;
    this.#conn?.close();
  }

  /** Resolves once `cond()` holds; checked on every ack. */
  waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.#failure) {
          clearTimeout(timer);
          this.#waiters.delete(check);
          return reject(this.#failure);
        }
        if (!cond()) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`${this.o.client}: timed out after ${timeoutMs} ms waiting for ${what} (${this.acks.length} acks, last errors ${JSON.stringify(this.errors.slice(-3))})`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  maxSeq(): number {
    return this.acks.reduce((m, a) => Math.max(m, a.seq), 0);
  }

  async #socket(): Promise<Conn> {
    if (this.#conn?.open) return this.#conn;
    this.#connecting ??= Conn.open(this.o.url(), this.o.token).finally(() => (this.#connecting = undefined));
    this.#conn = await this.#connecting;
    return this.#conn;
  }

  async #publish(cid: string): Promise<void> {
    const { client, ch, history } = this.o;
    const body = `${cid} from ${this.o.user}`;
    const giveUp = Date.now() + (this.o.giveUpMs ?? 30_000);
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) return;
      if (Date.now() > giveUp) {
        this.#failure ??= new Error(`${client}: "${cid}" was not acknowledged within ${this.o.giveUpMs ?? 30_000} ms (${attempt} attempts; last errors ${JSON.stringify(this.errors.slice(-3))})`);
        for (const w of [...this.#waiters]) w();
        return;
      }
      let conn: Conn;
      try {
        conn = await this.#socket();
      } catch {
        await sleep(200);
        continue;
      }
      history.push({ k: "pub", client, ch, cid, body });
      const sentAt = Date.now();
      let code: string;
      try {
        const r = await conn.request({ t: "pub", ch, cid, body }, this.o.requestTimeoutMs ?? 12_000);
        if (r.t === "ack") {
          history.push({ k: "ack", client, ch, cid, seq: r["seq"] as number, ...(r["dup"] ? { dup: true } : {}) });
          this.acks.push({ cid, seq: r["seq"] as number, dup: r["dup"] === true, sentAt, ackAt: Date.now() });
          for (const w of [...this.#waiters]) w();
          return;
        }
        code = String(r["code"] ?? r.t);
      } catch (err) {
        code = err instanceof Error && err.message === "timeout" ? "timeout" : "disconnected";
      }
      history.push({ k: "err", client, ch, cid, code });
      this.errors.push({ cid, code, at: Date.now() });
      await sleep(Math.min(500, 50 * 2 ** attempt));
    }
  }
}
