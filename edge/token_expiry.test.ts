import { describe, expect, it } from "vitest";
import { FakeClock } from "../runtime/core/clock.ts";
import { Connection, type SocketLike } from "./connection.ts";
import { SendTurn } from "./send_turn.ts";
import { reauthAt, TokenExpiry } from "./token_expiry.ts";

const socket: SocketLike = { bufferedAmount: 0, send() {}, close() {} };

function setup() {
  const clock = new FakeClock(1_000_000);
  const events: string[] = [];
  const expiry = new TokenExpiry(clock, {
    notice: (c) => events.push(`notice ${c.user} @${clock.now()}`),
    expired: (c) => {
      events.push(`expired ${c.user} @${clock.now()}`);
      c.close(4103, "token_expired");
    },
  });
  const conn = (user: string, ttlMs: number) => new Connection(1, { user, role: "user", exp: clock.now() + ttlMs }, socket, new SendTurn((fn) => fn()), 1 << 20, clock.now());
  return { clock, events, expiry, conn };
}

describe("token expiry", () => {
  it("token - the notice comes 30 s before expiry, or half-way for shorter tokens", () => {
    expect(reauthAt(1_000_000 + 3_600_000, 1_000_000)).toBe(1_000_000 + 3_570_000);
    expect(reauthAt(1_000_000 + 2_000, 1_000_000)).toBe(1_000_000 + 1_000);
  });

  it("token - a connection gets its notice, then is expired at its token's exp, not before", () => {
    const { clock, events, expiry, conn } = setup();
    expiry.track(conn("a", 2_000));
    clock.advance(999);
    expect(events).toEqual([]);
    clock.advance(1);
    expect(events).toEqual(["notice a @1001000"]);
    clock.advance(999);
    expect(events).toEqual(["notice a @1001000"]);
    clock.advance(1);
    expect(events).toEqual(["notice a @1001000", "expired a @1002000"]);
  });

  it("token - a re-authenticated connection starts over with its new token; an untracked one is forgotten", () => {
    const { clock, events, expiry, conn } = setup();
    const a = conn("a", 2_000);
    const b = conn("b", 2_000);
    expiry.track(a);
    expiry.track(b);
    clock.advance(1_250);
    a.principal = { ...a.principal, exp: clock.now() + 60_000 };
    expiry.track(a);
    expiry.untrack(b);
    clock.advance(5_000);
    expect(events).toEqual(["notice a @1001000", "notice b @1001000"]);
    clock.advance(60_000);
    expect(events.slice(2)).toEqual(["notice a @1031250", "expired a @1061250"]);
  });
});
