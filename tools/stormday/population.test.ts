import { describe, expect, it } from "vitest";
import { dmName, HUGE_CAP, hugeSize, Population } from "./population.ts";

describe("Storm Day population", () => {
  it("population - every user is in two small rooms of about the small size", () => {
    const pop = new Population({ users: 2_000 });
    const rooms = pop.publicRooms();
    for (let i = 0; i < 2_000; i++) {
      const [a, b] = pop.roomsOf(i).small;
      expect(rooms.get(a)).toContain(i);
      expect(rooms.get(b)).toContain(i);
    }
    const small = [...rooms].filter(([name]) => name.startsWith("s"));
    expect(small.length).toBe(160);
    for (const [, members] of small) expect(members.length).toBe(25);
  });

  it("population - a few huge rooms, capped, their members spread over the whole user range", () => {
    const pop = new Population({ users: 100_000 });
    const rooms = pop.publicRooms();
    for (let h = 0; h < 3; h++) {
      const m = rooms.get(`huge${h}`)!;
      expect(m.length).toBeGreaterThan(HUGE_CAP * 0.9);
      expect(m.length).toBeLessThanOrEqual(HUGE_CAP);
      expect(m[0]!).toBeLessThan(1_000);
      expect(m.at(-1)!).toBeGreaterThan(99_000);
    }
    expect(hugeSize(2_000, 3)).toBe(50);
    expect(hugeSize(100_000, 3)).toBe(HUGE_CAP);
  });

  it("population - DMs pair 20 % of users, each pair both ways, named as the server names them", () => {
    const pop = new Population({ users: 1_000 });
    const pairs = pop.dmPairs();
    expect(pairs.length).toBe(100);
    for (const [a, b] of pairs) {
      expect(pop.dmPartner(a)).toBe(b);
      expect(pop.dmPartner(b)).toBe(a);
      expect(pop.roomsOf(a).dm).toBe(pop.roomsOf(b).dm);
    }
    expect(dmName("u12", "u11")).toBe("dm:u11:u12");
  });

  it("population - the sampled rooms exist and are huge room 0 and one small room per group", () => {
    const pop = new Population({ users: 2_000, groups: 2 });
    expect(pop.sampledRooms()).toEqual(["huge0", "s0-0", "s0-1"]);
    const rooms = pop.publicRooms();
    for (const r of pop.sampledRooms()) expect(rooms.get(r)!.length).toBeGreaterThan(0);
  });

  it("population - the same size gives the same rooms (load processes compute their users' rooms alone)", () => {
    expect(new Population({ users: 3_333 }).roomsOf(1_234)).toEqual(new Population({ users: 3_333 }).roomsOf(1_234));
  });

  it("population - fewer than 2 users are refused", () => {
    expect(() => new Population({ users: 1 })).toThrow(/Cannot plan a population of 1 users/);
  });
});
