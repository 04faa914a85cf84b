import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { verifyWebhook } from "../../edge/webhook_signature.ts";

/** How the receiver answers: 2xx, a 500, or no answer at all (the sender times out). */
export type ReceiverMode = "ok" | "fail" | "stall";

export interface Delivery {
  id: string;
  body: Record<string, unknown>;
  /** Whether the signature header verified against the secret. */
  signed: boolean;
  /** What the receiver answered: 200, 500, or 0 for a stall. */
  status: number;
}

/**
 * A real HTTP webhook receiver (node:http) on a fixed port, for tests: it records every delivery
 * with what it answered, can fail (500), stall (never answer) or be stopped and started again on
 * the same port, and checks each signature with the endpoint's secret.
 */
export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  mode: ReceiverMode = "ok";
  secret = "";
  #server: Server | undefined;
  #port = 0;
  readonly #stalled = new Set<ServerResponse>();
  readonly #waiters: Array<() => void> = [];

  get url(): string {
    return `http://127.0.0.1:${this.#port}/hook`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(this.#port, "127.0.0.1", () => resolve()));
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stops listening and drops open connections (a receiver going down). */
  async stop(): Promise<void> {
    for (const res of this.#stalled) res.destroy();
    this.#stalled.clear();
    const s = this.#server;
    this.#server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Event ids answered 2xx, first answer of each, in the order they were answered. */
  acknowledged(): string[] {
    const seen = new Set<string>();
    return this.deliveries.filter((d) => d.status === 200 && !seen.has(d.id) && seen.add(d.id)).map((d) => d.id);
  }

  async waitFor(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; acknowledged: ${this.acknowledged().join(" ")}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 250);
      });
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const body = JSON.parse(raw) as Record<string, unknown>;
    const signed = verifyWebhook(this.secret, String(req.headers["storm-signature"] ?? ""), raw, 300_000, Date.now());
    const status = this.mode === "ok" ? 200 : this.mode === "fail" ? 500 : 0;
    this.deliveries.push({ id: String(req.headers["storm-event-id"]), body, signed, status });
    if (status === 0) this.#stalled.add(res);
    else res.writeHead(status).end();
    for (const w of this.#waiters.splice(0)) w();
  }
}
