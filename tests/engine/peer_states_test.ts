import { assert, assertEquals, assertRejects } from "../support/assert.ts";
import { PeerStates } from "../../src/engine/peer_states.ts";
import type { PlacedPeer } from "../../src/plan/placement.ts";

const plan: PlacedPeer[] = ["alice", "bob"].map((peer, i) => ({
  peer,
  hostIndex: 0,
  host: "host-0",
  address: "10.0.0.1",
  port: 11984 + i,
  image: "peer",
  listenAddr: `/ip4/0.0.0.0/udp/${11984 + i}/quic-v1`,
}));

Deno.test("PeerStates.applyStatus() reports the previous status and whether it is a (re)start", () => {
  const states = new PeerStates(plan);
  assertEquals(states.applyStatus("alice", "started", "v|/ip4/1"), {
    previous: null,
    newStart: true,
  });
  assertEquals(states.applyStatus("alice", "started", "v|/ip4/1"), {
    previous: "started",
    newStart: false,
  });
  states.applyStatus("alice", "restarting", undefined);
  assertEquals(states.applyStatus("alice", "started", "v|/ip4/2"), {
    previous: "restarting",
    newStart: true,
  });
  const alice = states.of("alice");
  assertEquals([alice.address, alice.restarts, alice.started], ["v|/ip4/2", 1, true]);
});

Deno.test("PeerStates counts a peer as started when a later status shows it, even if `started` was missed", () => {
  const states = new PeerStates(plan);
  states.applyStatus("alice", "connecting", undefined);
  states.applyStatus("bob", "booting", undefined);
  assertEquals([states.of("alice").started, states.of("bob").started], [true, false]);
  assertEquals(states.of("alice").address, undefined);
});

Deno.test("PeerStates.untilEach() resolves on the change that makes the last peer hold, early on stopsEarly, and rejects on abort", async () => {
  const states = new PeerStates(plan);
  const waiting = states.untilEach(states.names, (s) => s.started, new AbortController().signal);
  states.applyStatus("alice", "started", undefined);
  let done = false;
  waiting.then(() => done = true);
  await Promise.resolve();
  assert(!done);
  states.applyStatus("bob", "started", undefined);
  assertEquals(await waiting, undefined);

  const fresh = new PeerStates(plan);
  const early = fresh.untilEach(
    fresh.names,
    (s) => s.started,
    new AbortController().signal,
    (s) => s.failure !== undefined,
  );
  fresh.applyStatus("bob", "failed", "disk full");
  assertEquals((await early)?.peer, "bob");

  const controller = new AbortController();
  const never = states.untilEach(["alice"], () => false, controller.signal);
  controller.abort(new TypeError("stop"));
  await assertRejects(() => never, TypeError);
});

Deno.test("PeerStates.untilEach() re-checks only the peer that changed: O(peers) checks for 2,000 peers, not O(peers²)", async () => {
  const many: PlacedPeer[] = Array.from({ length: 2_000 }, (_, i) => ({
    ...plan[0],
    peer: `p${i}`,
    port: 10_000 + i,
  }));
  const states = new PeerStates(many);
  let checks = 0;
  const signal = new AbortController().signal;
  const all = states.untilEach(states.names, (s) => (checks++, s.started), signal);
  // And one wait per peer, as each exit being judged adds: none is woken by another's change.
  let exitChecks = 0;
  const each = states.names.map((peer) =>
    states.untilEach([peer], (s) => (exitChecks++, s.status === "stopped"), signal)
  );
  for (const peer of states.names) states.applyStatus(peer, "started", undefined);
  await all;
  for (const peer of states.names) states.applyStatus(peer, "stopped", undefined);
  await Promise.all(each);
  assertEquals(checks, 2 * 2_000, "each peer checked once at the start and once when it started");
  assertEquals(exitChecks, 3 * 2_000, "each wait checked at the start and on its own 2 changes");
});

Deno.test("PeerStates.undeliverableReason() names stopped and exited peers", () => {
  const states = new PeerStates(plan);
  assertEquals(states.undeliverableReason("alice"), undefined);
  states.applyStatus("alice", "stopped", undefined);
  assertEquals(states.undeliverableReason("alice"), "alice already stopped");
  states.markExited("bob", { code: 3, output: [] }, { expected: false, killed: false });
  assertEquals(states.undeliverableReason("bob"), "bob exited with code 3");
  assertEquals(states.undeliverableReason("carol"), "carol is not a peer of this test");
});

Deno.test("PeerStates.summaries() counts warnings and errors and reports exit codes of exits not caused by teardown", () => {
  const states = new PeerStates(plan);
  for (const level of ["warn", "WARNING", "error", "fatal", "info", "notice"]) {
    states.applyLog("alice", level, "x");
  }
  states.markExited("alice", { code: 0, output: [] }, { expected: true, killed: false });
  states.markExited("bob", { code: null, output: [] }, { expected: true, killed: true });
  assertEquals(states.summaries(), [
    {
      peer: "alice",
      host: "host-0",
      status: null,
      restarts: 0,
      warnings: 2,
      errors: 2,
      exitCode: 0,
    },
    { peer: "bob", host: "host-0", status: null, restarts: 0, warnings: 0, errors: 0 },
  ]);
  assertEquals(
    states.describe("alice"),
    "alice (last status: none; not launched; last log: notice x)",
  );
});

Deno.test("PeerStates.applyStatus() counts any status but stopped after restarting as the restart done, even when `started` was overwritten", () => {
  const states = new PeerStates(plan);
  states.applyStatus("alice", "started", "v|/ip4/1");
  states.applyStatus("alice", "restarting", undefined);
  // The restarted peer's `started` was overwritten by a queued connect before tm read it.
  assertEquals(states.applyStatus("alice", "connecting", undefined), {
    previous: "restarting",
    newStart: true,
  });
  assertEquals(states.applyStatus("alice", "connected", undefined).newStart, false);
  states.applyStatus("bob", "started", "v|/ip4/2");
  states.applyStatus("bob", "restarting", undefined);
  assertEquals(states.applyStatus("bob", "stopped", undefined).newStart, false);
  states.applyStatus("bob", "restarting", undefined);
  assertEquals(states.applyStatus("bob", "failed|disk full", undefined).newStart, false);
  assertEquals(states.of("alice").address, "v|/ip4/1", "the address from before is kept");
});

Deno.test("PeerStates.eachWithin() holds on the change that makes it hold, times out, stops early, and rejects on abort", async () => {
  const states = new PeerStates(plan);
  const waiting = states.eachWithin(
    ["alice"],
    (s) => s.started,
    60_000,
    new AbortController().signal,
  );
  states.applyStatus("alice", "started", undefined);
  assertEquals(await waiting, { held: true });
  assertEquals(
    await states.eachWithin(["bob"], (s) => s.started, 1, new AbortController().signal),
    { held: false },
  );
  const early = states.eachWithin(
    ["bob"],
    (s) => s.started,
    60_000,
    new AbortController().signal,
    (s) => s.failure !== undefined,
  );
  states.applyStatus("bob", "failed", undefined);
  assertEquals((await early).held, false);
  const controller = new AbortController();
  const never = states.eachWithin(["alice"], () => false, 60_000, controller.signal);
  controller.abort(new Error("halted"));
  assertEquals((await assertRejects(() => never, Error)).message, "halted");
});

Deno.test("PeerStates.markRelaunching() makes a killed peer reachable and its next status a new start; markRelaunchFailed() restores its exit", () => {
  const states = new PeerStates(plan);
  states.applyStatus("bob", "started", "v|/ip4/1");
  states.applyStatus("bob", "connected", undefined);
  states.markFaultKill("bob", true);
  states.markExited("bob", { code: null, output: [] }, { expected: true, killed: false });
  assertEquals(states.undeliverableReason("bob"), "bob exited");
  states.markRelaunching("bob");
  assertEquals(states.undeliverableReason("bob"), undefined);
  // Read before the runtime's start returned: the new process's first status.
  assertEquals(states.applyStatus("bob", "connecting", undefined).newStart, true);

  states.markExited("bob", { code: null, output: [] }, { expected: true, killed: false });
  states.markRelaunching("bob");
  states.markRelaunchFailed("bob");
  assertEquals(states.undeliverableReason("bob"), "bob exited");
});
