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

Deno.test("PeerStates.until() resolves on the change that makes the condition true and rejects on abort", async () => {
  const states = new PeerStates(plan);
  const allStarted = () => states.all().every((s) => s.started);
  const waiting = states.until(allStarted, new AbortController().signal);
  states.applyStatus("alice", "started", undefined);
  let done = false;
  waiting.then(() => done = true);
  await Promise.resolve();
  assert(!done);
  states.applyStatus("bob", "started", undefined);
  await waiting;

  const controller = new AbortController();
  const never = states.until(() => false, controller.signal);
  controller.abort(new TypeError("stop"));
  await assertRejects(() => never, TypeError);
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

Deno.test("PeerStates.within() is true on the change that makes the condition hold, false after the timeout, and rejects on abort", async () => {
  const states = new PeerStates(plan);
  const aliceStarted = () => states.of("alice").started;
  const waiting = states.within(aliceStarted, 60_000, new AbortController().signal);
  states.applyStatus("alice", "started", undefined);
  assertEquals(await waiting, true);
  assertEquals(
    await states.within(() => states.of("bob").started, 1, new AbortController().signal),
    false,
  );
  const controller = new AbortController();
  const never = states.within(() => false, 60_000, controller.signal);
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
