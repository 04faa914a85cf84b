import { Counter, Histogram, LabelledCounter } from "../lib/metrics.ts";
import { ERROR_CODES, type ErrorCode } from "../runtime/core/error_codes.ts";
import type { Clock } from "../runtime/core/clock.ts";
import type { DeliverySink } from "./connection.ts";
import { errorFields } from "./frames.ts";
import type { RateLimitScope } from "./rate_limits.ts";

/** Upper bounds of `storm_publish_deliver_seconds`, seconds. */
export const DELIVER_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** The transports that deliver channel messages: their label in `storm_deliveries_total`. */
export type DeliveryTransport = "ws" | "sse" | "poll" | "sync";
const TRANSPORTS: readonly DeliveryTransport[] = ["ws", "sse", "poll", "sync"];

/** The scopes of `storm_rate_limited_total`: each limit of `RateLimits`, and a connection's requests in flight. */
const SCOPES: ReadonlyArray<RateLimitScope | "inflight"> = ["publish_user", "publish_conn", "request_user", "api_user", "request_ip", "connect_ip", "connect_user", "inflight"];

/**
 * What the edge counts for `GET /metrics`: the seed's KPIs as every transport sees them. One
 * instance per node, shared by the WebSocket edge, the HTTP routes and the dispatcher; every
 * method is a few field updates.
 */
export class EdgeMetrics {
  readonly publishes = new Counter("storm_publishes_total", "publishes acknowledged by this node (every transport: WebSocket, POST /cmd, REST), duplicates (G3) included");
  readonly deliveries = new LabelledCounter(
    "storm_deliveries_total",
    "messages written to clients, one count per message per client: msgs frames of live batches and history pages (ws, sse, poll), messages of /api/sync/poll answers (sync)",
    ["transport"],
    TRANSPORTS.map((t) => [t]),
  );
  readonly publishDeliver = new Histogram(
    "storm_publish_deliver_seconds",
    "commit time of the first live message of a write (its owner node's clock) to the write (this node's clock); one sample per write",
    DELIVER_BUCKETS,
  );
  readonly errors = new LabelledCounter("storm_errors_total", "errors sent to clients (err frames, HTTP error responses, refused upgrades), by code", ["code"], Object.keys(ERROR_CODES).map((c) => [c]));
  readonly http = new LabelledCounter("storm_http_requests_total", "HTTP requests answered, by route pattern and status (an accepted WebSocket upgrade: /ws 101)", ["route", "status"]);
  readonly rateLimited = new LabelledCounter("storm_rate_limited_total", "requests and connections refused by a rate limit, by scope", ["scope"], SCOPES.map((s) => [s]));
  /** Errors already counted: one error crosses the dispatcher and then its transport, and counts once. */
  readonly #counted = new WeakSet<object>();
  readonly #sinks = new Map<DeliveryTransport, DeliverySink>();

  constructor(private readonly clock: Clock) {}

  /** Where a connection of `transport` reports its writes. */
  sink(transport: DeliveryTransport): DeliverySink {
    let sink = this.#sinks.get(transport);
    if (!sink) {
      const cell = this.deliveries.cell([transport]);
      sink = {
        // A sample from a peer's clock ahead of ours would be negative: it is counted as 0 (the first
        // bucket), so skew can only hide latency below it, never add a negative sum.
        written: (count, sampleTs) => {
          cell.value += count;
          if (sampleTs !== undefined) this.publishDeliver.observe(Math.max(0, this.clock.now() - sampleTs) / 1000);
        },
      };
      this.#sinks.set(transport, sink);
    }
    return sink;
  }

  /** Counts an error sent to a client, once however many layers report it; returns its code. */
  error(err: unknown): ErrorCode {
    const code = errorFields(err).code;
    if (typeof err === "object" && err !== null) {
      if (this.#counted.has(err)) return code;
      this.#counted.add(err);
    }
    this.errors.inc([code]);
    return code;
  }

  rateLimit(scope: RateLimitScope | "inflight"): void {
    this.rateLimited.inc([scope]);
  }

  render(): string {
    return [this.publishes, this.deliveries, this.publishDeliver, this.errors, this.http, this.rateLimited].map((m) => m.render()).join("");
  }
}
