import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { timingSafeEqual } from "node:crypto";
import { WebSocket, WebSocketServer } from "ws";
import type { WireError } from "../core/errors.ts";

/** Frames between nodes; a WebSocket message carries a JSON array of them. */
export type LinkFrame =
  | [0, string, unknown, number] // tell: to, msg, hops
  | [1, string, unknown, number, number] // ask: to, msg, reqId, hops
  | [2, number, true, unknown] // reply ok
  | [2, number, false, WireError]; // reply error

export interface NodeLinksOptions {
  self: string;
  secret: string;
  defer(fn: () => void): void;
  onFrames(from: string, frames: LinkFrame[]): void;
  log(msg: string, err?: unknown): void;
  /** Frames kept for a peer while its link is down; past this the oldest are dropped. */
  maxQueued?: number;
  /**
   * A connection to a peer was refused (ECONNREFUSED): nothing listens at its address, so its
   * process is gone (a crash, kill -9). A paused or partitioned peer does not refuse: its
   * connections stay open or time out, and only its lease tells.
   */
  onPeerGone?(node: string): void;
}

const SECRET_HEADER = "x-storm-cluster-secret";

/**
 * Node-to-node links over WebSocket. Each node sends on its own outgoing connection to a peer and
 * receives on the peer's: per direction, frames arrive in the order they were sent. Frames queued
 * in one loop turn leave as one message. A link that drops reconnects with backoff; frames that
 * cannot be kept are dropped and counted, which receivers detect as a gap (sockets then resume).
 */
export class NodeLinks {
  readonly #o: NodeLinksOptions;
  readonly #out = new Map<string, OutLink>();
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024, perMessageDeflate: false });
  /** The incarnation this node's outgoing links present (`/cluster?node=`). */
  #self: string;
  dropped = 0;

  constructor(o: NodeLinksOptions) {
    this.#o = o;
    this.#self = o.self;
  }

  send(node: string, address: string, frame: LinkFrame): void {
    let link = this.#out.get(node);
    if (!link) this.#out.set(node, (link = this.#link(node, address)));
    link.push(frame);
  }

  /**
   * This node rejoined as a new incarnation: outgoing links are closed (what they queued was the
   * old incarnation's) and open again, under the new id, as the router sends or ensures them.
   */
  rename(self: string): void {
    this.#self = self;
    for (const link of this.#out.values()) link.close();
    this.#out.clear();
  }

  #link(node: string, address: string): OutLink {
    return new OutLink(this.#o, this.#self, node, address, (n) => (this.dropped += n));
  }

  /**
   * Keeps a link open to a live peer even when nothing is sent to it, so that its death is seen
   * as soon as its socket closes and the reconnect is refused (`onPeerGone`).
   */
  ensure(node: string, address: string): void {
    if (!this.#out.has(node)) this.#out.set(node, this.#link(node, address));
  }

  /** Forgets a peer that is gone for good (its lease expired): its queued frames are dropped. */
  forget(node: string): void {
    this.#out.get(node)?.close();
    this.#out.delete(node);
  }

  /** Accepts a peer's link on `/cluster?node=<id>` when it presents the cluster secret. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? "/", "http://node");
    const from = url.searchParams.get("node");
    const given = Buffer.from(String(req.headers[SECRET_HEADER] ?? ""));
    const secret = Buffer.from(this.#o.secret);
    if (!from || given.length !== secret.length || !timingSafeEqual(given, secret)) {
      socket.end("HTTP/1.1 401 Unauthorized\r\n\r\n");
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on("message", (data: Buffer) => {
        try {
          this.#o.onFrames(from, JSON.parse(data.toString("utf8")) as LinkFrame[]);
        } catch (err) {
          this.#o.log(`bad frames from node ${from}`, err);
        }
      });
      ws.on("error", () => ws.terminate());
    });
  }

  close(): void {
    for (const link of this.#out.values()) link.close();
    this.#out.clear();
    for (const ws of this.#wss.clients) ws.terminate();
    this.#wss.close();
  }
}

class OutLink {
  #ws: WebSocket | undefined;
  #open = false;
  #queue: LinkFrame[] = [];
  #scheduled = false;
  #backoff = 50;
  #closed = false;

  constructor(
    private readonly o: NodeLinksOptions,
    private readonly self: string,
    private readonly node: string,
    private readonly address: string,
    private readonly onDrop: (n: number) => void,
  ) {
    this.#connect();
  }

  push(frame: LinkFrame): void {
    this.#queue.push(frame);
    const max = this.o.maxQueued ?? 100_000;
    if (this.#queue.length > max) {
      const over = this.#queue.length - max;
      this.#queue.splice(0, over);
      this.onDrop(over);
    }
    if (this.#open && !this.#scheduled) {
      this.#scheduled = true;
      this.o.defer(this.#flush);
    }
  }

  close(): void {
    this.#closed = true;
    this.#ws?.terminate();
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    if (!this.#open || this.#queue.length === 0) return;
    const frames = this.#queue;
    this.#queue = [];
    this.#ws!.send(JSON.stringify(frames));
  };

  #connect(): void {
    if (this.#closed) return;
    const url = `${this.address.replace(/\/$/, "")}/cluster?node=${encodeURIComponent(this.self)}`;
    const ws = new WebSocket(url, { headers: { [SECRET_HEADER]: this.o.secret }, perMessageDeflate: false });
    this.#ws = ws;
    ws.on("open", () => {
      this.#open = true;
      this.#backoff = 50;
      this.#flush();
    });
    ws.on("close", () => {
      this.#open = false;
      if (this.#closed) return;
      const delay = this.#backoff;
      this.#backoff = Math.min(2_000, this.#backoff * 2);
      setTimeout(() => this.#connect(), delay).unref();
    });
    ws.on("error", (err: Error & { code?: string }) => {
      if (err.code === "ECONNREFUSED") this.o.onPeerGone?.(this.node);
      // One line per outage, not one per reconnect attempt.
      if (this.#backoff <= 100) this.o.log(`link to ${this.node} failed: ${err.message}`);
    });
  }
}
