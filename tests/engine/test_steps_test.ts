import { assertEquals } from "../support/assert.ts";
import { type StepContext, TestSteps } from "../../src/engine/test_steps.ts";
import { CommandSender } from "../../src/engine/command_sender.ts";
import { FaultInjector } from "../../src/engine/fault_injector.ts";
import type { RunningPeer } from "../../src/engine/runtime.ts";

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
