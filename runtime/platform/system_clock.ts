import type { Clock } from "../core/clock.ts";

/** The wall clock. Timers are unref'd where the platform allows, so they never hold a process up. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const h = setTimeout(fn, ms) as unknown as { unref?: () => void };
    h.unref?.();
    return { cancel: () => clearTimeout(h as never) };
  },
  setInterval(fn, ms) {
    const h = setInterval(fn, ms) as unknown as { unref?: () => void };
    h.unref?.();
    return { cancel: () => clearInterval(h as never) };
  },
};
