import type { Platform } from "./platform.ts";
import type { Transport } from "./transport.ts";

/**
 * While a client runs on a fallback transport, a WebSocket opened now and then beside it: once
 * that one says `welcome`, the client takes it over (`take`) and closes the fallback. One probe at
 * a time; `make` returns undefined when no probe is wanted any more (closed, back on WebSocket).
 */
export class UpgradeProbe {
  #timer: unknown;
  #probe: Transport | undefined;

  constructor(
    private readonly platform: Platform,
    private readonly everyMs: number,
    private readonly make: () => Transport | undefined,
  ) {}

  /** Tries WebSocket again in `everyMs`, unless a try is already pending or running. */
  schedule(): void {
    if (this.#timer !== undefined || this.#probe) return;
    this.#timer = this.platform.setTimeout(() => {
      this.#timer = undefined;
      this.#probe = this.make();
      this.#probe?.start();
    }, this.everyMs);
  }

  is(t: Transport): boolean {
    return t === this.#probe;
  }

  /** The probe got its welcome: it is the caller's now. */
  take(): Transport {
    const p = this.#probe!;
    this.#probe = undefined;
    return p;
  }

  /** The probe closed: try again later. */
  failed(): void {
    this.#probe = undefined;
    this.schedule();
  }

  stop(): void {
    if (this.#timer !== undefined) this.platform.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#probe?.close();
    this.#probe = undefined;
  }
}
