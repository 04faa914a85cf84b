import { Counter, Histogram, LabelledCounter } from "../lib/metrics.ts";
import { ERROR_CODES, type ErrorCode } from "../runtime/core/error_codes.ts";
import type { Clock } from "../runtime/core/clock.ts";
import type { DeliverySink } from "./connection.ts";
import { errorFields, errorFrame } from "./frames.ts";

/** Upper bounds of `storm_publish_deliver_seconds`, seconds. */
export const DELIVER_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** The scopes of `storm_rate_limited_total` (a rate limiter adds its own, one line each). */
export type RateLimitScope = "inflight";

/**
 * What the edge counts for `GET /metrics`: the seed's KPIs as seen from the sockets. One instance
 * per node, shared by the WebSocket edge and the HTTP API; every method is a few field updates.
 */
export class EdgeMetrics implements DeliverySink {
  readonly publishes = new Counter("storm_publishes_total", "publishes acknowledged by this node's edge (WebSocket ack frames and HTTP 200/201), duplicates (G3) included");
  readonly deliveries = new Counter("storm_deliveries_total", "messages written to sockets in msgs frames (live batches and history pages), one count per message per socket");
  readonly publishDeliver = new Histogram(
    "storm_publish_deliver_seconds",
    "commit time of the first live message of a socket write (its owner node's clock) to the write (this node's clock); one sample per write",
    DELIVER_BUCKETS,
  );
  readonly errors = new LabelledCounter("storm_errors_total", "error frames and error responses sent, by code", ["code"], Object.keys(ERROR_CODES).map((c) => [c]));
  readonly http = new LabelledCounter("storm_http_requests_total", "HTTP requests answered, by route pattern and status", ["route", "status"]);
  readonly rateLimited = new LabelledCounter("storm_rate_limited_total", "requests refused for a rate or in-flight limit, by scope", ["scope"], [["inflight"]]);

  constructor(private readonly clock: Clock) {}

  /**
   * A sample from a peer's clock ahead of ours would be negative: it is counted as 0 (the first
   * bucket), so skew can only hide latency below it, never add a negative sum.
   */
  written(count: number, sampleTs: number | undefined): void {
    this.deliveries.value += count;
    if (sampleTs !== undefined) this.publishDeliver.observe(Math.max(0, this.clock.now() - sampleTs) / 1000);
  }

  /** Counts an error sent to a client; returns its code. */
  error(err: unknown): ErrorCode {
    const code = errorFields(err).code;
    this.errors.inc([code]);
    return code;
  }

  /** `errorFrame`, counted. */
  errorFrame(id: number | undefined, err: unknown): string {
    this.error(err);
    return errorFrame(id, err);
  }

  rateLimit(scope: RateLimitScope): void {
    this.rateLimited.inc([scope]);
  }

  render(): string {
    return [this.publishes, this.deliveries, this.publishDeliver, this.errors, this.http, this.rateLimited].map((m) => m.render()).join("");
  }
}
