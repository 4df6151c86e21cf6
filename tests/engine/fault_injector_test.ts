import { assertEquals } from "../support/assert.ts";
import { FaultInjector, faultNeeds } from "../../src/engine/fault_injector.ts";
import type { TimelineFault, UnstampedEvent } from "../../src/engine/events.ts";
import { until } from "../support/until.ts";
import {
  type FaultControl,
  FaultTargetGoneError,
  type RunningPeer,
} from "../../src/engine/runtime.ts";

/** A FaultControl that records each call; `hold` makes a call wait until released. */
class RecordingControl implements FaultControl {
  readonly calls: string[] = [];
  readonly failures = new Map<string, Error>();
  readonly held = new Map<string, PromiseWithResolvers<void>>();

  hold(call: string): () => void {
    const gate = Promise.withResolvers<void>();
    this.held.set(call, gate);
    return () => gate.resolve();
  }

  async #call(call: string): Promise<void> {
    this.calls.push(call);
    await this.held.get(call)?.promise;
    const failure = this.failures.get(call);
    if (failure) throw failure;
  }

  preflight() {
    return this.#call("preflight");
  }
  pause(peer: string) {
    return this.#call(`pause ${peer}`);
  }
  resume(peer: string) {
    return this.#call(`resume ${peer}`);
  }
  kill(peer: string) {
    return this.#call(`kill ${peer}`);
  }
  async start(peer: string): Promise<RunningPeer> {
    await this.#call(`start ${peer}`);
    return { name: peer, id: `new ${peer}`, exited: new Promise(() => {}) };
  }
  shape(peer: string, shaping: object) {
    return this.#call(`shape ${peer} ${JSON.stringify(shaping)}`);
  }
  partition(groups: readonly (readonly string[])[]) {
    return this.#call(`partition ${JSON.stringify(groups)}`);
  }
  heal(peers: readonly string[] | "all") {
    return this.#call(`heal ${peers === "all" ? "all" : peers.join(",")}`);
  }
}

function setup(control = new RecordingControl()) {
  const events: UnstampedEvent[] = [];
  const failures: string[] = [];
  const notes: string[] = [];
  const halt = new AbortController();
  const injector = new FaultInjector({
    control,
    peers: ["alice", "bob"],
    emit: (event) => events.push(event),
    onKilling: (peer) => notes.push(`killing ${peer}`),
    onKillFailed: (peer) => notes.push(`kill failed ${peer}`),
    onStarting: (peer) => {
      notes.push(`starting ${peer}`);
      return Promise.resolve();
    },
    onStartFailed: (peer) => notes.push(`start failed ${peer}`),
    onStarted: (peer, running) => notes.push(`started ${peer} as ${running.id}`),
    fail: (message) => failures.push(message),
    halted: halt.signal,
  });
  return { control, injector, events, failures, notes, halt };
}

let nextIndex = 0;
const fault = (action: Omit<TimelineFault, "index" | "time">): TimelineFault => ({
  index: nextIndex++,
  time: 0,
  ...action,
});

const never = new AbortController().signal;

Deno.test("FaultInjector runs queued faults one after another, in order, a slow one holding the next", async () => {
  const { control, injector, events } = setup();
  const release = control.hold("pause alice");
  injector.enqueue([fault({ fault: "pause", peers: ["alice"] })], 0, performance.now());
  injector.enqueue([fault({ fault: "resume", peers: ["alice"] })], 10, performance.now());
  await Promise.resolve();
  assertEquals(control.calls, ["pause alice"]);
  release();
  await injector.landed();
  assertEquals(control.calls, ["pause alice", "resume alice"]);
  assertEquals(events.map((e) => e.type === "fault-applied" && e.action.fault), [
    "pause",
    "resume",
  ]);
});

Deno.test("FaultInjector runs faults due together on different peers at once, each peer's in timeline order", async () => {
  const { control, injector, events } = setup();
  const release = control.hold("pause alice");
  const now = performance.now();
  injector.enqueue(
    [
      fault({ fault: "pause", peers: ["alice"] }),
      fault({ fault: "pause", peers: ["bob"] }),
    ],
    0,
    now,
  );
  injector.enqueue([fault({ fault: "resume", peers: ["alice"] })], 10, now);
  injector.enqueue([fault({ fault: "resume", peers: ["bob"] })], 10, now);
  await new Promise((resolve) => setTimeout(resolve, 0));
  // Bob's pause and resume went by while alice's pause (a slow host) held only alice's resume.
  assertEquals(control.calls, ["pause alice", "pause bob", "resume bob"]);
  release();
  await injector.landed();
  assertEquals(control.calls, ["pause alice", "pause bob", "resume bob", "resume alice"]);
  assertEquals(events.length, 4);
});

Deno.test("FaultInjector keeps network faults in timeline order among themselves, a heal after every peer's", async () => {
  const { control, injector } = setup();
  const release = control.hold("pause alice");
  const now = performance.now();
  injector.enqueue([fault({ fault: "pause", peers: ["alice"] })], 0, now);
  injector.enqueue(
    [fault({ fault: "partition", peers: ["alice", "bob"], groups: [["alice"], ["bob"]] })],
    5,
    now,
  );
  injector.enqueue([fault({ fault: "loss", peers: ["bob"], shaping: { lossPercent: 5 } })], 6, now);
  await new Promise((resolve) => setTimeout(resolve, 0));
  // The partition touches alice: it waits for her pause, and bob's loss waits for the partition.
  assertEquals(control.calls, ["pause alice"]);
  release();
  await injector.landed();
  assertEquals(control.calls, [
    "pause alice",
    'partition [["alice"],["bob"]]',
    'shape bob {"lossPercent":5}',
  ]);
});

Deno.test("FaultInjector.healAll() heals every peer after a network fault, resumes the paused, then owes nothing", async () => {
  const { control, injector, events } = setup();
  injector.enqueue(
    [
      fault({ fault: "delay", peers: ["alice", "bob"], shaping: { delayMs: 200, jitterMs: 0 } }),
      fault({ fault: "partition", peers: ["alice", "bob"], groups: [["alice"], ["bob"]] }),
      fault({ fault: "pause", peers: ["bob"] }),
    ],
    0,
    performance.now(),
  );
  await injector.healAll("before shutdown", { resume: true, signal: never });
  assertEquals(control.calls, [
    'shape alice {"delayMs":200,"jitterMs":0}',
    'shape bob {"delayMs":200,"jitterMs":0}',
    'partition [["alice"],["bob"]]',
    "pause bob",
    "heal all",
    "resume bob",
  ]);
  const guaranteed = events.flatMap((e) =>
    e.type === "fault-applied" && e.index === undefined ? [[e.action.fault, e.detail]] : []
  );
  assertEquals(guaranteed, [["heal", "before shutdown"], ["resume", "before shutdown"]]);
  assertEquals(injector.healOwed, false);
  await injector.healAll("again", { resume: true, signal: never });
  assertEquals(control.calls.length, 6, "nothing owed: no more calls");
});

/**
 * A partition, then `healAll` with a signal aborted (`reason`) while the heal is in progress,
 * the heal then failing with `error` as an aborted operation does.
 */
async function healCutShort(reason: unknown, error: DOMException) {
  const { control, injector, events, failures } = setup();
  injector.enqueue(
    [fault({ fault: "partition", peers: ["alice", "bob"], groups: [["alice"], ["bob"]] })],
    0,
    performance.now(),
  );
  const release = control.hold("heal all");
  const abort = new AbortController();
  control.failures.set("heal all", error);
  const healing = injector.healAll("at the end", { resume: true, signal: abort.signal });
  await until(
    "the heal to be issued",
    () => Promise.resolve(control.calls.includes("heal all") || undefined),
  );
  abort.abort(reason);
  release();
  await healing;
  return { injector, events, failures };
}

Deno.test("FaultInjector.healAll() cut short by a second interrupt reports no failed fault, and still owes the heal", async () => {
  const { injector, events, failures } = await healCutShort(
    undefined,
    new DOMException("The signal has been aborted", "AbortError"),
  );
  assertEquals(events.filter((e) => e.type === "fault-failed"), []);
  assertEquals(failures, []);
  assertEquals(injector.healOwed, true);
  const said = events.flatMap((e) => e.type === "trace" ? [e.message] : []);
  assertEquals(said, [
    "fault heal on alice, bob cut short: the run is stopping (the network is healed at cleanup)",
  ]);
});

Deno.test("FaultInjector.healAll() that runs out of its time at cleanup reports the heal failed", async () => {
  const timeout = new DOMException("The signal timed out.", "TimeoutError");
  const { events } = await healCutShort(timeout, timeout);
  assertEquals(events.filter((e) => e.type === "fault-failed").length, 1);
});

Deno.test("FaultInjector heals some peers by name and all of them as heal('all')", async () => {
  const { control, injector } = setup();
  injector.enqueue(
    [
      fault({ fault: "loss", peers: ["bob"], shaping: { lossPercent: 5 } }),
      fault({ fault: "heal", peers: ["bob"] }),
      fault({ fault: "heal", peers: ["bob", "alice"] }),
    ],
    0,
    performance.now(),
  );
  await injector.landed();
  assertEquals(control.calls.slice(1), ["heal bob", "heal all"]);
  assertEquals(injector.healOwed, false);
});

Deno.test("FaultInjector reports a gone target as a warning and fails the run on any other error", async () => {
  const { control, injector, events, failures, notes } = setup();
  control.failures.set("pause bob", new FaultTargetGoneError("bob", "container of bob is gone"));
  control.failures.set("kill alice", new Error("docker kill: permission denied"));
  injector.enqueue(
    [
      fault({ fault: "pause", peers: ["alice", "bob"] }),
      fault({ fault: "kill", peers: ["alice"] }),
    ],
    2_000,
    performance.now(),
  );
  await injector.landed();
  const reported = events.map((e) =>
    e.type === "fault-applied"
      ? ["applied", e.action.fault, e.action.peers]
      : e.type === "fault-failed"
      ? ["failed", e.action.fault, e.action.peers, e.targetGone, e.reason]
      : [e.type]
  );
  assertEquals(reported, [
    ["applied", "pause", ["alice"]],
    ["failed", "pause", ["bob"], true, "container of bob is gone"],
    ["failed", "kill", ["alice"], false, "docker kill: permission denied"],
  ]);
  assertEquals(failures, [
    `fault #${nextIndex - 1} kill on alice failed: docker kill: permission denied`,
  ]);
  assertEquals(notes, ["killing alice", "kill failed alice"]);
});

Deno.test("FaultInjector hands a started peer's new RunningPeer to the run", async () => {
  const { injector, notes } = setup();
  injector.enqueue([fault({ fault: "start", peers: ["bob"] })], 0, performance.now());
  await injector.landed();
  assertEquals(notes, ["starting bob", "started bob as new bob"]);
});

Deno.test("FaultInjector says a peer is starting before the runtime's start returns, and when it failed", async () => {
  const { control, injector, notes } = setup();
  const release = control.hold("start bob");
  control.failures.set("start bob", new Error("docker start: no such container"));
  injector.enqueue([fault({ fault: "start", peers: ["bob"] })], 0, performance.now());
  await until(
    "the start to be issued",
    () => Promise.resolve(control.calls.length > 0 || undefined),
  );
  assertEquals(notes, ["starting bob"]);
  release();
  await injector.landed();
  assertEquals(notes, ["starting bob", "start failed bob"]);
});

Deno.test("FaultInjector skips queued faults once the run halted", async () => {
  const { control, injector, halt } = setup();
  const release = control.hold("pause alice");
  injector.enqueue([fault({ fault: "pause", peers: ["alice"] })], 0, performance.now());
  injector.enqueue([fault({ fault: "kill", peers: ["alice"] })], 10, performance.now());
  await Promise.resolve(); // the pause is under way
  assertEquals(control.calls, ["pause alice"]);
  halt.abort();
  release();
  await injector.landed();
  assertEquals(control.calls, ["pause alice"]);
});

Deno.test("faultNeeds() lists per host the faults planned on its peers", () => {
  const needs = faultNeeds(
    [
      { fault: "partition", peers: ["alice", "bob"], groups: [["alice"], ["bob"]] },
      { fault: "pause", peers: ["bob"] },
    ],
    new Map([["alice", "a"], ["bob", "b"]]),
  );
  assertEquals([...needs].map(([host, faults]) => [host, [...faults]]), [
    ["a", ["partition"]],
    ["b", ["partition", "pause"]],
  ]);
});

Deno.test("FaultInjector runs network faults due together on different peers at once, one peer's in order, a heal after all", async () => {
  const { control, injector } = setup();
  const release = control.hold('shape alice {"delayMs":100}');
  const now = performance.now();
  injector.enqueue(
    [
      fault({ fault: "delay", peers: ["alice"], shaping: { delayMs: 100 } }),
      fault({ fault: "loss", peers: ["bob"], shaping: { lossPercent: 5 } }),
      fault({ fault: "loss", peers: ["alice"], shaping: { lossPercent: 5 } }),
    ],
    0,
    now,
  );
  injector.enqueue([fault({ fault: "heal", peers: ["bob"] })], 10, now);
  await new Promise((resolve) => setTimeout(resolve, 0));
  // Bob's loss (another host) went by while alice's delay hangs; alice's loss and the heal wait.
  assertEquals(control.calls, ['shape alice {"delayMs":100}', 'shape bob {"lossPercent":5}']);
  release();
  await injector.landed();
  assertEquals(control.calls.slice(2), ['shape alice {"lossPercent":5}', "heal bob"]);
});

Deno.test("FaultInjector.enqueue() starts a fault before it returns when the faults before it on its peers have landed", async () => {
  const { control, injector } = setup();
  injector.enqueue([fault({ fault: "pause", peers: ["alice"] })], 0, performance.now());
  // Nothing before it: asked of the runtime within enqueue, not a turn of the event loop later.
  assertEquals(control.calls, ["pause alice"]);
  await injector.landed();
  injector.enqueue([fault({ fault: "resume", peers: ["alice"] })], 10, performance.now());
  // Alice's pause has landed: her resume need not wait a turn for it either.
  assertEquals(control.calls, ["pause alice", "resume alice"]);
  await injector.landed();
});

Deno.test("FaultInjector.enqueue() holds a fault whose peer's earlier fault has not landed, whatever else landed", async () => {
  const { control, injector } = setup();
  const release = control.hold("pause alice");
  injector.enqueue([fault({ fault: "pause", peers: ["alice"] })], 0, performance.now());
  injector.enqueue([fault({ fault: "pause", peers: ["bob"] })], 5, performance.now());
  await until(
    "both pauses asked",
    () => Promise.resolve(control.calls.length === 2 ? true : undefined),
  );
  injector.enqueue([fault({ fault: "resume", peers: ["alice", "bob"] })], 10, performance.now());
  // Bob's pause landed, alice's has not: the resume of both waits for alice's.
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(control.calls, ["pause alice", "pause bob"]);
  release();
  await injector.landed();
  assertEquals(control.calls, ["pause alice", "pause bob", "resume alice", "resume bob"]);
});
