import type { TransportKind } from "./transport.ts";

/**
 * Which transport to try next: the first of the list until it fails to open `fallbackAfter` times
 * in a row, then the next one (after the last, the first again). A transport that opened resets its
 * count; a promotion (WebSocket working again while on a fallback) makes WebSocket current.
 */
export class TransportChooser {
  readonly #failures = new Map<TransportKind, number>();
  #index = 0;

  constructor(
    readonly kinds: readonly TransportKind[],
    private readonly fallbackAfter: number,
  ) {}

  get current(): TransportKind {
    return this.kinds[this.#index]!;
  }

  opened(kind: TransportKind): void {
    this.#failures.set(kind, 0);
  }

  /** `kind` closed before it opened. */
  failed(kind: TransportKind): void {
    const n = (this.#failures.get(kind) ?? 0) + 1;
    this.#failures.set(kind, n);
    if (n < this.fallbackAfter || kind !== this.current) return;
    this.#failures.set(kind, 0);
    this.#index = (this.#index + 1) % this.kinds.length;
  }

  /** True while a transport other than WebSocket is in use and WebSocket is allowed. */
  onFallback(kind: TransportKind): boolean {
    return kind !== "websocket" && this.kinds.includes("websocket");
  }

  useWebSocket(): void {
    this.#index = Math.max(0, this.kinds.indexOf("websocket"));
  }
}
