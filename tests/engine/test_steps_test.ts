/**
 * The test's steps (src/engine/test_steps.ts) over a fake run: peer states driven by hand, a
 * `send` that plays the peers (a `shutdown` makes the peer say `stopped`), exits reported when a
 * test says so, as a runtime reports them long after the peers stopped. Pure: no Redis, no
 * process.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { type OutgoingCommand, TestSteps } from "../../src/engine/test_steps.ts";
import { PeerStates } from "../../src/engine/peer_states.ts";
import type { UnstampedEvent } from "../../src/engine/events.ts";
import { place } from "../../src/plan/placement.ts";
import { scenario } from "../support/engine_scenario.ts";

const PEERS = ["alice", "bob", "carol"];

/**
 * A started three-peer run whose steps are driven by the test.
 * @param quick the peers whose exits come right after their `stopped`
 */
function fakeRun(shutdownSeconds: number, quick: string[] = []) {
  const config = scenario({
    peers: PEERS.map((name) => ({ name })),
    commands: [],
    shutdown: shutdownSeconds,
  });
  const plan = place(config);
  const states = new PeerStates(plan);
  for (const peer of PEERS) states.applyStatus(peer, "started", `/ip4/127.0.0.1/udp/1/${peer}`);
  const events: UnstampedEvent[] = [];
  const sent: OutgoingCommand[] = [];
  const halt = new AbortController();
  const exited = (peer: string) =>
    states.markExited(peer, { code: 0, output: [] }, { expected: true, killed: false });
  const steps = new TestSteps({
    config,
    plan,
    timeline: [],
    faults: [],
    states,
    emit: (event) => events.push(event),
    send: (commands) => {
      sent.push(...commands);
      // Each peer says `stopped` at once; its exit comes at once if it is quick, else when the
      // test calls `exit`.
      for (const { peer, command } of commands) {
        if (command !== "shutdown") continue;
        states.applyStatus(peer, "stopped", undefined);
        if (quick.includes(peer)) exited(peer);
      }
      return Promise.resolve();
    },
    sendsLanded: () => Promise.resolve(),
    applyFaults: () => {},
    faultsLanded: () => Promise.resolve(),
    halted: halt.signal,
    abortable: (promise) => promise,
    fail: (message) => new Error(message),
  });
  /** The runtime reports `peer`'s exit (code 0), after `ms`. */
  const exit = (peer: string, ms = 0) =>
    setTimeout(
      () => states.markExited(peer, { code: 0, output: [] }, { expected: true, killed: false }),
      ms,
    );
  return { steps, states, events, sent, exit };
}

Deno.test("TestSteps.shutdown() waits for a stopped peer's exit however long after the others it comes, within timeout.shutdown", async () => {
  // 300 containers on the test bed: every peer said `stopped` within 0.9 s, their exits came
  // 5-15 s later. Here carol's comes 6 s after the others' (tm used to give up 5 s after the
  // last exit seen, and its teardown then killed carol).
  const { steps, states, events, exit } = fakeRun(30, ["alice", "bob"]);
  exit("carol", 6_000);
  await steps.shutdown();
  assertEquals(PEERS.map((peer) => states.of(peer).exit?.killed), [false, false, false]);
  assertEquals(events.filter((e) => e.type === "warning"), []);
});

Deno.test("TestSteps.shutdown() waits for the exit of a peer that stopped on its own before the shutdown", async () => {
  // `log-burst|<n>` makes a peer stop by itself during the timeline: shutdown does not send it
  // `shutdown`, yet its exit is still to come.
  const { steps, states, sent, exit } = fakeRun(30);
  states.applyStatus("carol", "stopped", undefined);
  exit("alice", 50);
  exit("bob", 50);
  exit("carol", 1_000);
  await steps.shutdown();
  assertEquals(sent.map((c) => c.peer), ["alice", "bob"], "carol had stopped: no shutdown sent");
  assert(states.of("carol").exit !== undefined, "carol's exit was waited for");
});

Deno.test("TestSteps.shutdown() ends as soon as every stopped peer exited, not at timeout.shutdown", async () => {
  // An hour of timeout.shutdown: a wait that ran to its end would hold this test for an hour; a
  // minute after the last exit is the liveness bound, far above any machine's delay.
  const { steps, states, exit } = fakeRun(3_600);
  for (const peer of PEERS) exit(peer, 100);
  let bound: ReturnType<typeof setTimeout> | undefined;
  const done = await Promise.race([
    steps.shutdown().then(() => "done"),
    new Promise<string>((resolve) => bound = setTimeout(() => resolve("still waiting"), 60_000)),
  ]);
  clearTimeout(bound);
  assertEquals(done, "done");
  assert(PEERS.every((peer) => states.of(peer).exit !== undefined));
});

Deno.test("TestSteps.shutdown() warns, naming them, about peers that said stopped and did not exit within timeout.shutdown", async () => {
  const { steps, states, events, exit } = fakeRun(0.5);
  exit("alice");
  exit("bob");
  // carol never exits: the teardown ends it; the run says so rather than in a trace.
  await steps.shutdown();
  assertEquals(states.of("carol").exit, undefined);
  const warnings = events.filter((e) => e.type === "warning");
  assertEquals(warnings.length, 1);
  const message = (warnings[0] as { message: string }).message;
  assertEquals(
    message,
    "reported stopped but did not exit within 0.5s (timeout.shutdown), the teardown ends them: carol",
  );
});
