/**
 * The test's steps (src/engine/test_steps.ts): a batch's dispatch order over the real
 * CommandSender and FaultInjector with logging fakes; the shutdown over a fake run (peer states
 * driven by hand, a `send` that plays the peers, exits reported when a test says so, as a runtime
 * reports them long after the peers stopped). Pure: no Redis, no process.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { type OutgoingCommand, type StepContext, TestSteps } from "../../src/engine/test_steps.ts";
import { CommandSender } from "../../src/engine/command_sender.ts";
import { FaultInjector } from "../../src/engine/fault_injector.ts";
import type { RunningPeer } from "../../src/engine/runtime.ts";
import { PeerStates } from "../../src/engine/peer_states.ts";
import type { UnstampedEvent } from "../../src/engine/events.ts";
import { place } from "../../src/plan/placement.ts";
import { scenario } from "../support/engine_scenario.ts";
/**
 * TestSteps.dispatch with the run's real CommandSender and FaultInjector over fakes that log,
 * in one list, what reached Redis, what was asked of the runtime and what was reported.
 */
function dispatcher() {
  const log: string[] = [];
  const halt = new AbortController();
  const sender = new CommandSender({
    states: { undeliverableReason: () => undefined },
    coordination: () => ({
      send: (batch) => {
        log.push(`pipeline ${batch.map((c) => `${c.peer}:${c.command}`).join(" ")}`);
        return Promise.resolve();
      },
    }),
    emit: (event) => log.push(`event ${event.type}`),
    lost: (message) => log.push(`lost ${message}`),
  });
  const asked = (call: string) => {
    log.push(`runtime ${call}`);
    return Promise.resolve();
  };
  const injector = new FaultInjector({
    control: {
      preflight: () => Promise.resolve(),
      pause: (peer) => asked(`pause ${peer}`),
      resume: (peer) => asked(`resume ${peer}`),
      kill: (peer) => asked(`kill ${peer}`),
      start: (peer) =>
        asked(`start ${peer}`).then((): RunningPeer => ({
          name: peer,
          id: peer,
          exited: new Promise(() => {}),
        })),
      shape: (peer) => asked(`shape ${peer}`),
      partition: () => asked("partition"),
      heal: () => asked("heal"),
    },
    peers: ["alice", "bob"],
    emit: (event) => log.push(`event ${event.type}`),
    onKilling: () => {},
    onKillFailed: () => {},
    onStarting: () => Promise.resolve(),
    onStartFailed: () => {},
    onStarted: () => {},
    fail: (message) => log.push(`fail ${message}`),
    halted: halt.signal,
  });
  // Only what dispatch uses of the run's context.
  const context: Pick<StepContext, "send" | "applyFaults"> = {
    send: (commands, lateMs, meanwhile) => sender.send(commands, lateMs, meanwhile),
    applyFaults: (faults, dueMs, lateMs) =>
      injector.enqueue(faults, dueMs, performance.now() - lateMs),
  };
  const steps = new TestSteps({ ...context, config: { peers: [] } } as unknown as StepContext);
  return { steps, log, landed: () => Promise.all([sender.landed(), injector.landed()]) };
}

Deno.test("TestSteps.dispatch writes a batch's pipeline, then asks the runtime for its faults, then reports its commands", async () => {
  const { steps, log, landed } = dispatcher();
  steps.dispatch({
    dueMs: 1_000,
    faults: [{ index: 0, time: 1, fault: "pause", peers: ["alice"] }],
    commands: [{ index: 1, time: 1, peer: "bob", command: "pull" }],
  }, 0);
  // All of it before dispatch returns: no request waits for the events' sinks or for a turn.
  assertEquals(log, ["pipeline bob:pull", "runtime pause alice", "event command-sent"]);
  await landed();
  assertEquals(log.slice(3).sort(), ["event commands-acknowledged", "event fault-applied"]);
});

Deno.test("TestSteps.dispatch of a batch of faults alone asks the runtime before it returns", async () => {
  const { steps, log, landed } = dispatcher();
  steps.dispatch({
    dueMs: 0,
    faults: [
      { index: 0, time: 0, fault: "pause", peers: ["alice"] },
      { index: 1, time: 0, fault: "pause", peers: ["bob"] },
    ],
    commands: [],
  }, 0);
  assertEquals(log, ["runtime pause alice", "runtime pause bob"]);
  await landed();
});

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
