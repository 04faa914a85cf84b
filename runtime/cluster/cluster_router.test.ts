import { describe, expect, it } from "vitest";
import type { ActorId } from "../core/actor_id.ts";
import type { ActorSystem } from "../core/actor_system.ts";
import { FakeClock } from "../core/clock.ts";
import { MemoryRegistry } from "../core/memory_registry.ts";
import type { NodeLease, Placement } from "../core/registry.ts";
import { ClusterRouter } from "./cluster_router.ts";
import { rendezvous } from "./rendezvous.ts";
import type { NodeLinks } from "./node_links.ts";

/**
 * A router for node n1 with n2 and n3 live, over an in-memory registry that counts lookups: the
 * round trips that read a placement (`lookup`, or `claim`, which answers with the one in force).
 */
function setup(self = "n1", shared?: { clock: FakeClock; registry: MemoryRegistry }, park: { parkMs?: number; parkMax?: number } = {}, holdWakes = false) {
  const gone: Array<{ edge: string; msg: unknown }> = [];
  const clock = shared?.clock ?? new FakeClock();
  const registry = shared?.registry ?? new MemoryRegistry(clock);
  let lookups = 0;
  const lookup = registry.lookup.bind(registry);
  const claim = registry.claim.bind(registry);
  registry.lookup = (id: ActorId) => (lookups++, lookup(id));
  registry.claim = (id: ActorId, p: Placement) => (lookups++, claim(id, p));
  const sent: Array<{ node: string; to: unknown }> = [];
  const evicted: string[] = [];
  const local: string[] = [];
  const woken: Array<{ id: string; ms: number }> = [];
  /** Asks run on this node: by which incarnation (its edge id then), under which placement. */
  const asked: Array<{ id: string; self: string; placement: Placement | null }> = [];
  /** With `holdWakes`, each wake waits here until the test answers it. */
  const wakes: Array<() => void> = [];
  const system = {
    tell: (id: string) => void local.push(id),
    ask: async (id: string, msg: { type?: string }) => {
      local.push(id);
      if (msg.type === "wake" && holdWakes) await new Promise<void>((r) => wakes.push(r));
      if (msg.type !== "wake") asked.push({ id, self: router.edgeId, placement: await lookup(id) });
      return true;
    },
    evict: (id: string) => void evicted.push(id),
    asked,
  } as unknown as ActorSystem & { asked: typeof asked };
  const ensured = new Set<string>();
  const renamed: string[] = [];
  const replies: Array<{ node: string; frame: unknown[] }> = [];
  const links = {
    send: (node: string, _address: string, frame: unknown[]) => void (frame[0] === 2 ? replies.push({ node, frame }) : sent.push({ node, to: frame[1] })),
    ensure: (node: string) => void ensured.add(node),
    forget: (node: string) => void ensured.delete(node),
    rename: (self: string) => void renamed.push(self),
  } as unknown as NodeLinks;
  const router = new ClusterRouter({
    self, system, registry, links, clock, askTimeoutMs: 1_000, localKinds: ["session"],
    onEdgeEvent: () => {}, onPlacement: () => {}, log: () => {}, onTakenOver: (id, ms) => void woken.push({ id, ms }), onEdgeGone: (edge, msg) => void gone.push({ edge, msg }), ...park,
  });
  const lease = (node: string): NodeLease => ({ node, address: `ws://${node}`, renewedAt: 0, load: 0 }) as NodeLease;
  router.setLiveNodes([lease("n1"), lease("n2"), lease("n3")]);
  const settle = () => new Promise((r) => setTimeout(r, 0));
  return { registry, router, sent, evicted, local, settle, lookups: () => lookups, ensured, woken, lease, clock, renamed, system, replies, wakes, gone };
}

describe("cluster router", () => {
  it("router - a tell for an edge of an incarnation without a lease is reported gone; a live one is sent", () => {
    const { router, sent, gone } = setup();
    router.tell("edge:n2", { type: "msgs", ch: "a" });
    router.tell("edge:n0old", { type: "msgs", ch: "a" });
    expect(sent).toEqual([{ node: "n2", to: "edge:n2" }]);
    expect(gone).toEqual([{ edge: "edge:n0old", msg: { type: "msgs", ch: "a" } }]);
  });


  it("router - a watched move of an actor this node routes to redirects its next message without a lookup", async () => {
    const { registry, router, sent, evicted, settle, lookups } = setup();
    await registry.claim("channel:x", { node: "n2", worker: 0, epoch: 1 });
    router.tell("channel:x", { n: 1 });
    await settle();
    expect(sent).toEqual([{ node: "n2", to: "channel:x" }]);
    const before = lookups();
    router.onWatch("channel:x", { node: "n3", worker: 0, epoch: 2 });
    expect(evicted).toEqual(["channel:x"]); // an activation left here would serve stale state
    router.tell("channel:x", { n: 2 });
    await settle();
    expect(sent[1]).toEqual({ node: "n3", to: "channel:x" });
    expect(lookups()).toBe(before);
  });

  it("router - placements of actors this node never routed to are not cached, and are looked up on first use", async () => {
    const { registry, router, sent, settle, lookups } = setup();
    await registry.claim("session:u", { node: "n2", worker: 0, epoch: 1 });
    router.onWatch("session:u", { node: "n2", worker: 0, epoch: 1 });
    const before = lookups();
    router.tell("session:u", { n: 1 });
    await settle();
    expect(lookups()).toBe(before + 1);
    expect(sent).toEqual([{ node: "n2", to: "session:u" }]);
  });

  it("router - a released placement is forgotten: the next message looks the actor up again", async () => {
    const { registry, router, settle, lookups } = setup();
    await registry.claim("channel:y", { node: "n2", worker: 0, epoch: 1 });
    router.tell("channel:y", {});
    await settle();
    router.onWatch("channel:y", null);
    const before = lookups();
    router.tell("channel:y", {});
    await settle();
    expect(lookups()).toBe(before + 1);
  });

  it("router - a message forwarded here while the cache names another node is placed by the registry, not bounced back", async () => {
    const { registry, router, sent, local, settle } = setup();
    const old = { node: "n2", worker: 0, epoch: 2 };
    await registry.claim("channel:m", old);
    router.tell("channel:m", { n: 1 });
    await settle();
    expect(sent).toEqual([{ node: "n2", to: "channel:m" }]);
    // A migration moved the actor here; its watch event has not arrived yet, but n3 (which ran it) sends the wake.
    await registry.replace("channel:m", old, { node: "n1", worker: 0, epoch: 2 });
    router.onFrames("n3", [[0, "channel:m", { type: "wake" }, 0]]);
    await settle();
    expect(local).toEqual(["channel:m"]);
    expect(sent).toHaveLength(1);
  });

  it("router - a peer whose link is refused is taken over at once, and stays dead while its lease is still listed", async () => {
    const { registry, router, sent, local, settle, ensured, woken, lease } = setup();
    expect([...ensured].sort()).toEqual(["n2", "n3"]); // links kept to every live peer, to see them die
    // An actor on n2 that rendezvous gives to n1 once n2 is gone, and one it gives to n3.
    const ids = Array.from({ length: 40 }, (_, i) => `channel:t${i}`);
    const mine = ids.find((id) => rendezvous(id, ["n1", "n3"]) === "n1")!;
    const theirs = ids.find((id) => rendezvous(id, ["n1", "n3"]) === "n3")!;
    for (const id of [mine, theirs]) await registry.claim(id, { node: "n2", worker: 0, epoch: 4 });

    router.peerGone("n2");
    await settle();
    await settle();
    expect(await registry.lookup(mine)).toEqual({ node: "n1", worker: 0, epoch: 4 });
    expect(await registry.lookup(theirs)).toEqual({ node: "n2", worker: 0, epoch: 4 }); // n3's to take
    expect(local).toEqual([mine]);
    expect(woken.map((w) => w.id)).toEqual([mine]);
    expect(ensured.has("n2")).toBe(false);

    // n2's lease has not expired yet: the next view still lists it, and it stays dead here.
    router.setLiveNodes([lease("n1"), lease("n2"), lease("n3")]);
    router.tell(theirs, { n: 1 });
    await settle();
    await settle();
    expect(sent.filter((m) => m.node === "n2")).toEqual([]);
    expect(ensured.has("n2")).toBe(false);
  });

  it("router - a takeover wakes the channels a few dozen at a time, and leaves sessions to the node that next routes to them", async () => {
    const { registry, router, local, settle, wakes, woken } = setup("n1", undefined, {}, true);
    const mine = Array.from({ length: 400 }, (_, i) => `channel:w${i}`).filter((id) => rendezvous(id, ["n1", "n3"]) === "n1").slice(0, 40);
    const session = Array.from({ length: 40 }, (_, i) => `session:w${i}`).find((id) => rendezvous(id, ["n1", "n3"]) === "n1")!;
    for (const id of [...mine, session]) await registry.claim(id, { node: "n2", worker: 0, epoch: 2 });

    router.peerGone("n2");
    for (let i = 0; i < 10; i++) await settle();
    expect(wakes).toHaveLength(32); // 40 taken over, 32 waking
    for (const wake of wakes.splice(0)) wake();
    for (let i = 0; i < 10; i++) await settle();
    expect(wakes).toHaveLength(8);
    for (const wake of wakes.splice(0)) wake();
    for (let i = 0; i < 10; i++) await settle();
    expect(woken.map((w) => w.id).sort()).toEqual([...mine].sort());
    expect(await registry.lookup(session)).toEqual({ node: "n2", worker: 0, epoch: 2 }); // left as it was
    expect(local).not.toContain(session);
    // Its next message places it here, the node that routes to it.
    router.tell(session, { n: 1 });
    for (let i = 0; i < 3; i++) await settle();
    expect((await registry.lookup(session))!.node).toBe("n1");
  });

  it("router - a node marked gone that sends frames is alive after all: its lease decides again", async () => {
    const { router, ensured, lease } = setup();
    router.peerGone("n2");
    router.onFrames("n2", []);
    router.setLiveNodes([lease("n1"), lease("n2"), lease("n3")]);
    expect(ensured.has("n2")).toBe(true);
  });

  it("router - without a lease nothing is routed or claimed; rejoined as a new incarnation, the old one's actors are taken over", async () => {
    const { registry, router, sent, local, settle, woken, lease, renamed } = setup();
    // Actors the old incarnation n1 owned, and one on a peer.
    const ids = Array.from({ length: 12 }, (_, i) => `channel:c${i}`);
    for (const id of ids) await registry.claim(id, { node: "n1", worker: 0, epoch: 1 });
    await registry.claim("channel:peer", { node: "n2", worker: 0, epoch: 1 });

    router.suspend();
    router.tell("channel:c0", { n: 1 });
    router.tell("channel:new", { n: 1 });
    await settle();
    expect(sent).toEqual([]);
    expect(local).toEqual([]);
    expect(await registry.lookup("channel:new")).toBeNull(); // no claim without a lease

    router.rejoin("n1b", [lease("n1b"), lease("n2"), lease("n3")]);
    expect(renamed).toEqual(["n1b"]);
    expect(router.edgeId).toBe("edge:n1b");
    for (let i = 0; i < 5; i++) await settle();
    // The dead incarnation's placements that rendezvous hashing gives the new one moved here and
    // were woken; the others are left to n2 and n3, which see n1 gone too.
    const after = await registry.list("channel:c");
    const mine = after.filter((e) => e.placement.node === "n1b").map((e) => e.id);
    expect(mine).toEqual(ids.filter((id) => rendezvous(id, ["n1b", "n2", "n3"]) === "n1b").sort());
    expect(mine.length).toBeGreaterThan(0);
    expect(woken.map((w) => w.id).sort()).toEqual(mine.sort());
    // And routing works again, under the new id.
    void router.ask("channel:peer", { n: 2 }).catch(() => {});
    await settle();
    expect(sent.some((m) => m.node === "n2" && m.to === "channel:peer")).toBe(true);
  });

  it("router - an ask made without a lease waits, and after the rejoin is placed and run by the new incarnation only", async () => {
    const { registry, router, sent, settle, lease, system } = setup();
    const ids = Array.from({ length: 40 }, (_, i) => `channel:p${i}`);
    for (const id of ids) await registry.claim(id, { node: "n1", worker: 0, epoch: 3 });
    // One the new incarnation takes over itself, one a peer takes.
    const here = ids.find((id) => rendezvous(id, ["n1b", "n2", "n3"]) === "n1b")!;
    const there = ids.find((id) => rendezvous(id, ["n1b", "n2", "n3"]) === "n2")!;

    router.suspend();
    const answers: unknown[] = [];
    const asked = [router.ask(here, { n: 1 }), router.ask(there, { n: 2 })].map((p) => p.then((v) => answers.push(v)));
    for (let i = 0; i < 5; i++) await settle();
    expect(answers).toEqual([]);
    expect(system.asked).toEqual([]); // nothing ran under the old incarnation
    expect(sent).toEqual([]);
    expect(router.parked).toBe(2);

    router.rejoin("n1b", [lease("n1b"), lease("n2"), lease("n3")]);
    await asked[0];
    // Run here only once the placement names the new incarnation (G5: never under n1's epoch).
    expect(system.asked).toEqual([{ id: here, self: "edge:n1b", placement: { node: "n1b", worker: 0, epoch: 3 } }]);
    await settle();
    // The other went to the peer that rendezvous hashing picks with n1 gone, not back to n1.
    expect(sent).toEqual([{ node: "n2", to: there }]);
    expect(router.parked).toBe(0);
  });

  it("router - an ask parked past its wait fails unavailable; one within it is still routed", async () => {
    const { router, clock, lease, settle } = setup("n1", undefined, { parkMs: 2_000 });
    router.suspend();
    const early = router.ask("channel:a", {}, 10_000);
    clock.advance(1_500);
    const late = router.ask("channel:b", {}, 10_000);
    clock.advance(600); // the first waited 2.1 s, the second 0.6 s
    await expect(early).rejects.toMatchObject({ code: "unavailable" });
    expect(router.parked).toBe(1);
    router.rejoin("n1b", [lease("n1b"), lease("n2"), lease("n3")]);
    await settle();
    expect(router.parked).toBe(0);
    void late.catch(() => {});
  });

  it("router - an ask waits at most half its own timeout, so it keeps time to be answered once routed", async () => {
    const { router, clock } = setup("n1", undefined, { parkMs: 5_000 });
    router.suspend();
    const short = router.ask("channel:a", {}, 1_000);
    clock.advance(499);
    expect(router.parked).toBe(1);
    clock.advance(101);
    await expect(short).rejects.toMatchObject({ code: "unavailable" });
  });

  it("router - past the bound on parked asks, another fails unavailable at once", async () => {
    const { router } = setup("n1", undefined, { parkMax: 2 });
    router.suspend();
    void router.ask("channel:a", {}).catch(() => {});
    void router.ask("channel:b", {}).catch(() => {});
    await expect(router.ask("channel:c", {})).rejects.toMatchObject({ code: "unavailable", message: expect.stringContaining("2 requests wait already") });
    expect(router.parked).toBe(2);
  });

  it("router - a peer's request reaching a node without a lease is parked, then answered after the rejoin", async () => {
    const { registry, router, settle, lease, system, replies } = setup();
    const id = Array.from({ length: 40 }, (_, i) => `channel:q${i}`).find((k) => rendezvous(k, ["n1b", "n2", "n3"]) === "n1b")!;
    await registry.claim(id, { node: "n1", worker: 0, epoch: 1 });
    router.suspend();
    router.onFrames("n2", [[1, id, { n: 1 }, 7, 0]]);
    await settle();
    expect(replies).toEqual([]);
    router.rejoin("n1b", [lease("n1b"), lease("n2"), lease("n3")]);
    for (let i = 0; i < 5; i++) await settle();
    expect(system.asked.map((a) => a.self)).toEqual(["edge:n1b"]);
    expect(replies).toEqual([{ node: "n2", frame: [2, 7, true, true] }]);
  });

  it("router - a lease lost while a placement is looked up: the ask is not routed by that lookup but parked", async () => {
    const { registry, router, settle, lease, system, sent } = setup();
    const id = Array.from({ length: 40 }, (_, i) => `session:r${i}`)[0]!;
    const asked = router.ask(id, {});
    router.suspend(); // the claim is on its way to the registry
    for (let i = 0; i < 5; i++) await settle();
    expect(system.asked).toEqual([]);
    expect(sent).toEqual([]);
    expect(router.parked).toBe(1);
    router.rejoin("n1b", [lease("n1b"), lease("n2"), lease("n3")]);
    for (let i = 0; i < 5; i++) await settle();
    // A session goes to the node that routes to it: the new incarnation, not the dead one.
    expect(await registry.lookup(id)).toEqual({ node: "n1b", worker: 0, epoch: 0 });
    expect(system.asked.map((a) => a.self)).toEqual(["edge:n1b"]);
    await asked;
  });

  it("router - a new session is placed on the node that routes to it, a new channel by rendezvous hashing", async () => {
    const { registry, router, sent, local, settle } = setup();
    const ids = Array.from({ length: 40 }, (_, i) => `x${i}`);
    const elsewhere = ids.find((k) => rendezvous(`session:${k}`, ["n1", "n2", "n3"]) !== "n1")!;
    router.tell(`session:${elsewhere}`, { n: 1 });
    router.tell(`channel:${elsewhere}`, { n: 1 });
    await settle();
    expect(await registry.lookup(`session:${elsewhere}`)).toEqual({ node: "n1", worker: 0, epoch: 0 });
    expect(local).toEqual([`session:${elsewhere}`]);
    expect((await registry.lookup(`channel:${elsewhere}`))!.node).toBe(rendezvous(`channel:${elsewhere}`, ["n1", "n2", "n3"]));
    expect(sent.map((m) => m.to)).toEqual(rendezvous(`channel:${elsewhere}`, ["n1", "n2", "n3"]) === "n1" ? [] : [`channel:${elsewhere}`]);
  });

  it("router - after a rejoin, a new session is placed on the new incarnation, the node that routes to it", async () => {
    const { registry, router, local, settle, lease } = setup();
    router.suspend();
    router.rejoin("n1b", [lease("n1b"), lease("n2"), lease("n3")]);
    const ids = Array.from({ length: 40 }, (_, i) => `session:after${i}`);
    const elsewhere = ids.find((id) => rendezvous(id, ["n1b", "n2", "n3"]) !== "n1b")!;
    router.tell(elsewhere, { n: 1 });
    for (let i = 0; i < 3; i++) await settle();
    expect(await registry.lookup(elsewhere)).toEqual({ node: "n1b", worker: 0, epoch: 0 });
    expect(local).toEqual([elsewhere]);
  });

  it("router - a draining node places a new session on another live node", async () => {
    const { registry, router, sent, local, settle } = setup();
    router.drain();
    router.tell("session:d", { n: 1 });
    await settle();
    const p = (await registry.lookup("session:d"))!;
    expect(p.node).toBe(rendezvous("session:d", ["n2", "n3"]));
    expect(local).toEqual([]);
    expect(sent).toEqual([{ node: p.node, to: "session:d" }]);
  });

  it("router - two nodes routing to the same new session at once both send to the one placement claimed first", async () => {
    const a = setup("n1");
    const b = setup("n2", { clock: a.clock, registry: a.registry });
    a.router.tell("session:both", { n: 1 });
    b.router.tell("session:both", { n: 2 });
    await a.settle();
    const p = (await a.registry.lookup("session:both"))!;
    const [owner, other] = p.node === "n1" ? [a, b] : [b, a];
    expect(owner.local).toEqual(["session:both"]);
    expect(other.local).toEqual([]);
    expect(other.sent).toEqual([{ node: p.node, to: "session:both" }]);
    expect(owner.sent).toEqual([]);
  });
});
