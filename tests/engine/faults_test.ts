/**
 * Faults on the timeline, end to end in the engine: reference peers as real processes
 * (ProcessRuntime: SIGSTOP, SIGCONT, SIGKILL, a new process), a real redis-server, real signals.
 */
import { assert, assertEquals, assertRejects } from "../support/assert.ts";
import {
  assertNoProcessLeft,
  ofType,
  referencePeerRuntime,
  runScenario,
  scenario,
} from "../support/engine_scenario.ts";
import type { EngineEvent } from "../../src/engine/events.ts";
import type { FaultControl, PeerRuntime } from "../../src/engine/runtime.ts";
import { FaultsUnsupportedError, run } from "../../src/engine/run.ts";
import { UsageError } from "../../src/base/errors.ts";
import { place } from "../../src/plan/placement.ts";
import { localRedisProvider } from "../support/redis_server.ts";
import { runHistory } from "../../src/history/run_history.ts";
import { peerProblems } from "../../src/history/peer_verdict.ts";

/** Position of the first event matching `predicate`; fails the test when there is none. */
function indexOf(events: EngineEvent[], what: string, predicate: (e: EngineEvent) => boolean) {
  const index = events.findIndex(predicate);
  assert(index >= 0, `no ${what} event`);
  return index;
}

const isFault = (fault: string, detail?: string) => (e: EngineEvent) =>
  e.type === "fault-applied" && e.action.fault === fault &&
  (detail === undefined ? e.index !== undefined : e.detail === detail);

const isShutdownTo = (peer: string) => (e: EngineEvent) =>
  e.type === "command-sent" && e.peer === peer && e.command === "shutdown";

/**
 * alice, and bob bootstrapped with her: bob killed at 0.3 s, started again at 0.6 s, then (with
 * `pull`, the default) sent `pull` at 2 s; without it the timeline ends with the start.
 */
function killThenStartBob({ pull = true } = {}) {
  return scenario({
    peers: [{ name: "alice" }, { name: "bob", bootstrap: ["alice"] }],
    commands: [
      { time: 0, peer: "bob", command: "connect" },
      { time: 0.3, fault: "kill", peer: "bob" },
      { time: 0.6, fault: "start", peer: "bob" },
      ...(pull ? [{ time: 2, peer: "bob", command: "pull" }] : []),
    ],
  });
}

Deno.test("run() with kill then start: an expected exit, one more started, a re-bootstrap, and the run passes [integration: redis-server, processes]", async () => {
  const config = killThenStartBob();
  const outcome = await runScenario(config);
  const { result, events } = outcome;
  assertEquals(result, { verdict: "passed", exitCode: 0 }, JSON.stringify(ofType(events, "error")));

  const bobStarted = ofType(events, "peer-status")
    .filter((e) => e.peer === "bob" && e.status === "started");
  assertEquals(bobStarted.length, 2);
  const bootstraps = ofType(events, "command-sent")
    .filter((e) => e.peer === "bob" && e.command.startsWith("peer|"));
  assertEquals(bootstraps.length, 2, "bob is sent alice's address again once it started again");

  const bobExits = ofType(events, "peer-exited").filter((e) => e.peer === "bob");
  assertEquals(bobExits.map((e) => [e.code, e.expected]), [[null, true], [0, true]]);
  assertEquals(
    ofType(events, "fault-applied").map((e) => [e.index, e.action.fault, e.action.peers]),
    [[1, "kill", ["bob"]], [2, "start", ["bob"]]],
  );
  for (const applied of ofType(events, "fault-applied")) {
    assert(applied.lateMs !== undefined && applied.lateMs >= 0, JSON.stringify(applied));
  }
  assertEquals(ofType(events, "peer-launched").filter((e) => e.peer === "bob").length, 2);
  const finished = ofType(events, "run-finished")[0];
  assertEquals(finished.peers.map((p) => [p.peer, p.status]), [["alice", "stopped"], [
    "bob",
    "stopped",
  ]]);
  assertNoProcessLeft(outcome);
});

Deno.test("run() re-bootstraps a peer a start fault ran again that reported started before start returned [integration: redis-server, processes]", async () => {
  const config = killThenStartBob();
  // A `docker start` returns after the container ran for a while: this one returns only once
  // tm has read the new process's `started`.
  let startedAgain: () => void = () => {};
  const seenStartedAgain = new Promise<void>((resolve) => startedAgain = resolve);
  let bobStarts = 0;
  const inner = referencePeerRuntime();
  const faults: FaultControl = {
    ...inner.faults!,
    start: async (peer, signal) => {
      const running = await inner.faults!.start(peer, signal);
      await Promise.race([
        seenStartedAgain,
        new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true })),
      ]);
      return running;
    },
  };
  const runtime = new Proxy(inner, {
    get(target, key) {
      if (key === "faults") return faults;
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const { result, events } = await runScenario(config, {
    runtime,
    onEvent: (event) => {
      if (event.type === "peer-status" && event.peer === "bob" && event.status === "started") {
        if (++bobStarts === 2) startedAgain();
      }
    },
  });
  assertEquals(result, { verdict: "passed", exitCode: 0 }, JSON.stringify(ofType(events, "error")));
  assertEquals(bobStarts, 2);
  const bootstraps = ofType(events, "command-sent")
    .filter((e) => e.peer === "bob" && e.command.startsWith("peer|"));
  assertEquals(bootstraps.length, 2, "bob is sent alice's address again once it started again");
  assertEquals(ofType(events, "command-undeliverable"), []);
});

Deno.test("run() whose timeline ends with a start waits for the peer's new start before shutdown: it is re-bootstrapped first [integration: redis-server, processes]", async () => {
  // Nothing after the start: the timeline ends as soon as it lands, and the new process reports
  // `started` later (a process start; in CI a container's `started` came 2.2 s after `docker start`).
  const outcome = await runScenario(killThenStartBob({ pull: false }));
  const { result, events } = outcome;
  assertEquals(result, { verdict: "passed", exitCode: 0 }, JSON.stringify(ofType(events, "error")));
  const toBob = ofType(events, "command-sent").filter((e) => e.peer === "bob")
    .map((e) => e.command.split("|")[0]);
  assertEquals(toBob, ["peer", "connect", "peer", "shutdown"]);
  const startedAgain = indexOf(
    events,
    "bob's second started",
    (e) =>
      e.type === "peer-status" && e.peer === "bob" && e.status === "started" &&
      e.previous !== null,
  );
  assert(startedAgain < indexOf(events, "shutdown to bob", isShutdownTo("bob")));
  assertEquals(ofType(events, "warning"), []);
  assertNoProcessLeft(outcome);
});

Deno.test("run() with a peer still killed at shutdown passes: it is not asked to stop [integration: redis-server, processes]", async () => {
  const config = scenario({
    peers: [{ name: "alice" }, { name: "bob" }],
    commands: [{ time: 0.2, fault: "kill", peer: "bob" }],
  });
  const outcome = await runScenario(config);
  const { result, events } = outcome;
  assertEquals(result, { verdict: "passed", exitCode: 0 }, JSON.stringify(ofType(events, "error")));
  assertEquals(
    ofType(events, "command-sent").filter((e) => e.command === "shutdown").map((e) => e.peer),
    [
      "alice",
    ],
  );
  assertEquals(
    ofType(events, "peer-exited").map((e) => [e.peer, e.expected]),
    [["bob", true], ["alice", true]],
  );
  // The record, its reports and the console judge bob as the verdict did: no problem.
  const finished = ofType(events, "run-finished")[0];
  assertEquals(finished.peers.find((p) => p.peer === "bob")?.killedByFault, true);
  const history = runHistory(events.map((event) => ({ wall: "", event })));
  assertEquals(history.peers.map((peer) => [peer.peer, peerProblems(peer)]), [
    ["alice", []],
    ["bob", []],
  ]);
  assertNoProcessLeft(outcome);
});

Deno.test("run() with pause holds a peer's log lines until resume [integration: redis-server, processes]", async () => {
  const config = scenario({
    peers: [{ name: "alice" }],
    commands: [
      { time: 0, peer: "alice", command: "connect" },
      { time: 0.5, fault: "pause", peer: "alice" },
      { time: 0.6, peer: "alice", command: "pull" },
      { time: 2, fault: "resume", peer: "alice" },
    ],
  });
  const outcome = await runScenario(config);
  const { result, events } = outcome;
  assertEquals(result, { verdict: "passed", exitCode: 0 }, JSON.stringify(ofType(events, "error")));
  const paused = indexOf(events, "pause", isFault("pause"));
  const pullSent = indexOf(
    events,
    "pull sent",
    (e) => e.type === "command-sent" && e.command === "pull",
  );
  const resumed = indexOf(events, "resume", isFault("resume"));
  const pulled = indexOf(
    events,
    "pulled log",
    (e) => e.type === "peer-log" && e.message.startsWith("pulled messages"),
  );
  assert(paused < pullSent && pullSent < resumed, "pause, then the pull, then resume");
  assert(pulled > resumed, "the paused peer logged nothing about the pull until it was resumed");
  const between = events.slice(paused, resumed).filter((e) => e.type === "peer-log");
  assertEquals(between, [], "no log line from the paused peer");
  assertNoProcessLeft(outcome);
});

Deno.test("run() resumes a peer left paused before the shutdown phase, so it stops cleanly [integration: redis-server, processes]", async () => {
  const config = scenario({
    peers: [{ name: "alice" }, { name: "bob" }],
    commands: [
      { time: 0, peer: "alice", command: "connect" },
      { time: 0.2, fault: "pause", peers: "*" },
    ],
  });
  const outcome = await runScenario(config);
  const { result, events } = outcome;
  assertEquals(result, { verdict: "passed", exitCode: 0 }, JSON.stringify(ofType(events, "error")));
  const healed = indexOf(events, "guaranteed resume", isFault("resume", "before shutdown"));
  const healEvent = events[healed];
  assert(healEvent.type === "fault-applied");
  assertEquals(healEvent.action.peers.sort(), ["alice", "bob"]);
  assert(
    healed < indexOf(events, "shutdown phase", (e) => e.type === "phase" && e.phase === "shutdown"),
  );
  assertEquals(ofType(events, "run-finished")[0].peers.map((p) => p.status), [
    "stopped",
    "stopped",
  ]);
  assertNoProcessLeft(outcome);
});

Deno.test("run() stopped while a peer is paused resumes it before asking it to stop [integration: redis-server, processes]", async () => {
  const stop = new AbortController();
  const config = scenario({
    peers: [{ name: "alice" }],
    commands: [
      { time: 0.2, fault: "pause", peer: "alice" },
      { time: 120, fault: "resume", peer: "alice" },
    ],
  });
  const outcome = await runScenario(config, {
    stop: stop.signal,
    onEvent: (event) => {
      if (event.type === "fault-applied" && event.action.fault === "pause") stop.abort();
    },
  });
  const { result, events } = outcome;
  assertEquals(result, {
    verdict: "interrupted",
    exitCode: 130,
    reason: "interrupted by the user",
  });
  const resumed = indexOf(events, "resume on interrupt", isFault("resume", "on interrupt"));
  assert(resumed < indexOf(events, "shutdown to alice", isShutdownTo("alice")));
  assertEquals(ofType(events, "run-finished")[0].peers.map((p) => p.status), ["stopped"]);
  assertEquals(ofType(events, "fault-applied").filter((e) => e.index !== undefined).length, 1);
  assertNoProcessLeft(outcome);
});

Deno.test("run() failing while a peer is paused resumes it before the wind-down [integration: redis-server, processes]", async () => {
  const config = scenario({
    peers: [{ name: "alice" }, { name: "bob" }],
    commands: [
      { time: 0.2, fault: "pause", peer: "alice" },
      { time: 0.5, peer: "bob", command: "exit|3" },
      { time: 120, fault: "resume", peer: "alice" },
    ],
  });
  const outcome = await runScenario(config);
  const { result, events } = outcome;
  assertEquals([result.verdict, result.reason], [
    "failed",
    "peer bob exited with code 3 unexpectedly",
  ]);
  const resumed = indexOf(
    events,
    "resume after the failure",
    isFault("resume", "after the failure"),
  );
  assert(resumed < indexOf(events, "shutdown to alice", isShutdownTo("alice")));
  const alice = ofType(events, "run-finished")[0].peers.find((p) => p.peer === "alice");
  assertEquals(alice?.status, "stopped");
  assertNoProcessLeft(outcome);
});

Deno.test("run() fails before any peer starts when a host lacks a network fault's tool [integration: redis-server, processes]", async () => {
  const config = scenario({
    peers: [{ name: "alice" }, { name: "bob" }],
    commands: [{ time: 1, fault: "delay", peer: "bob", ms: 100 }],
  });
  const runtime = referencePeerRuntime();
  const { result, events } = await runScenario(config, { runtime });
  assertEquals(result.verdict, "failed");
  assertEquals(
    result.reason,
    "faults need network namespace on local processes: delay on local: local processes share " +
      "tm's network, so the process runtime cannot shape or partition it; run the test on " +
      "Docker hosts",
  );
  assertEquals(ofType(events, "peer-starting"), []);
  assertEquals(ofType(events, "fault-applied"), []);
});

Deno.test("run() rejects a timeline with faults on a runtime without FaultControl, before any event", async () => {
  const config = scenario({
    peers: [{ name: "alice" }],
    commands: [{ time: 1, fault: "pause", peer: "alice" }],
  });
  const processes = referencePeerRuntime();
  const bare: PeerRuntime = {
    kind: "bare",
    setup: (context) => processes.setup(context),
    redisUrlFor: (placement, url) => processes.redisUrlFor(placement, url),
    start: (launch, signal) => processes.start(launch, signal),
    teardown: (options) => processes.teardown(options),
  };
  const events: EngineEvent[] = [];
  const error = await assertRejects(
    () =>
      run({
        config,
        plan: place(config),
        runtime: bare,
        redis: localRedisProvider(),
        emit: (event) => events.push(event),
      }),
    FaultsUnsupportedError,
  );
  assert(error instanceof UsageError);
  assertEquals(
    error.message,
    "the timeline has 1 fault but the bare runtime cannot inject faults; remove the fault: " +
      "entries or run on a runtime that can",
  );
  assertEquals(events, []);
  await processes.teardown();
});

/**
 * The process runtime with network faults recorded instead of refused: local processes have no
 * network of their own to shape, so this is the seam to see when the engine heals and tears
 * down. Container faults are the process runtime's own (real signals).
 */
function recordingNetwork(calls: string[]): PeerRuntime {
  const processes = referencePeerRuntime();
  const own = processes.faults;
  const faults: FaultControl = {
    ...own,
    preflight: () => Promise.resolve(),
    shape: (peer) => (calls.push(`shape ${peer}`), Promise.resolve()),
    partition: (groups) => (calls.push(`partition ${JSON.stringify(groups)}`), Promise.resolve()),
    heal: (
      peers,
    ) => (calls.push(`heal ${peers === "all" ? "all" : peers.join(",")}`), Promise.resolve()),
  };
  return {
    kind: "process",
    faults,
    setup: (context) => processes.setup(context),
    redisUrlFor: (placement, url) => processes.redisUrlFor(placement, url),
    start: (launch, signal) => processes.start(launch, signal),
    teardown: (
      options,
    ) => (calls.push(`teardown${options?.force ? " (forced)" : ""}`), processes.teardown(options)),
  };
}

Deno.test("run() killed at once during a partition still heals the network before the forced teardown [integration: redis-server, processes]", async () => {
  const stop = new AbortController();
  const kill = new AbortController();
  const calls: string[] = [];
  const config = scenario({
    peers: [{ name: "alice" }, { name: "bob" }],
    commands: [
      { time: 0.2, fault: "partition", groups: [["alice"], ["bob"]] },
      { time: 120, fault: "heal" },
    ],
  });
  const { result, events } = await runScenario(config, {
    runtime: recordingNetwork(calls),
    stop: stop.signal,
    kill: kill.signal,
    onEvent: (event) => {
      if (event.type === "fault-applied" && event.action.fault === "partition") {
        kill.abort(); // a second Ctrl-C: no graceful shutdown
        stop.abort();
      }
    },
  });
  assertEquals([result.verdict, result.exitCode], ["interrupted", 130]);
  assertEquals(calls.slice(0, 3), [
    'partition [["alice"],["bob"]]',
    "heal all",
    "teardown (forced)",
  ]);
  const healed = ofType(events, "fault-applied").filter((e) => e.index === undefined);
  assertEquals(healed.map((e) => [e.action.fault, e.detail]), [["heal", "at cleanup"]]);
  assertEquals(ofType(events, "command-sent").filter((e) => e.command === "shutdown"), []);
});

Deno.test("run() heals the network before the shutdown phase and only once [integration: redis-server, processes]", async () => {
  const calls: string[] = [];
  const config = scenario({
    peers: [{ name: "alice" }, { name: "bob" }],
    commands: [
      { time: 0.1, fault: "loss", peer: "bob", percent: 5 },
      { time: 0.2, fault: "heal", peer: "bob" },
      { time: 0.3, fault: "rate", peers: "*", kbit: 100 },
    ],
  });
  const { result, events } = await runScenario(config, { runtime: recordingNetwork(calls) });
  assertEquals(result, { verdict: "passed", exitCode: 0 }, JSON.stringify(ofType(events, "error")));
  // run() tore the runtime down once; runScenario's own teardown after it is left out.
  assertEquals(calls.slice(0, calls.indexOf("teardown") + 1), [
    "shape bob",
    "heal bob",
    "shape alice",
    "shape bob",
    "heal all",
    "teardown",
  ]);
  const heal = indexOf(events, "guaranteed heal", isFault("heal", "before shutdown"));
  assert(
    heal < indexOf(events, "shutdown phase", (e) => e.type === "phase" && e.phase === "shutdown"),
  );
});
