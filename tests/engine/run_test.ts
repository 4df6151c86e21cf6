/**
 * The run engine end to end: a real redis-server, reference peers as real processes
 * (ProcessRuntime), the real RedisCoordination.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { run } from "../../src/engine/run.ts";
import { ProcessRuntime } from "../../src/runtimes/process/process_runtime.ts";
import type { EngineEvent, EventOf } from "../../src/engine/events.ts";
import type { PeerRuntime } from "../../src/engine/runtime.ts";
import { place } from "../../src/plan/placement.ts";
import { isLogged, openLogFile } from "../../src/record/log_file.ts";
import { localRedisProvider, startRedisServer } from "../support/redis_server.ts";
import type { RedisProvider, RedisServer } from "../../src/engine/redis_provider.ts";
import { vladFor } from "../../lib/typescript/reference_peer.ts";
import { alive, lines } from "../support/process_output.ts";
import {
  assertNoProcessLeft,
  logsOf,
  ofType,
  REFERENCE_PEER,
  referencePeerRuntime,
  runScenario,
  scenario,
  type ScenarioOutcome,
} from "../support/engine_scenario.ts";

Deno.test("run() takes a 3-peer scenario through every phase, every peer stopping cleanly, and the log file records it [integration: redis-server, processes]", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tm-run-test-" });
  try {
    const log = openLogFile(`${dir}/run.log`);
    const config = scenario({
      peers: [
        { name: "alice" },
        { name: "bob", bootstrap: ["alice"] },
        { name: "carol", bootstrap: ["alice", "bob"] },
      ],
      commands: [
        { time: 0, peer: "alice", command: "connect" },
        { time: 0, peer: "bob", command: "connect" },
        { time: 0.1, peer: "carol", command: "connect" },
        { time: 0.3, peer: "alice", command: "push|bob|hello" },
        { time: 0.3, peer: "bob", command: "pull" },
      ],
    });
    let outcome: ScenarioOutcome;
    try {
      outcome = await runScenario(config, { extraSink: log.sink });
    } finally {
      await log.close();
    }
    const { result, events } = outcome;
    assertEquals(
      result,
      { verdict: "passed", exitCode: 0 },
      JSON.stringify(ofType(events, "error")),
    );

    assertEquals(events[0].type, "run-started");
    assertEquals(events.at(-1)?.type, "run-finished");
    assertEquals(ofType(events, "phase").map((e) => e.phase), [
      "redis",
      "hosts",
      "starting",
      "bootstrap",
      "timeline",
      "shutdown",
      "cleanup",
    ]);
    assert(events.every((e, i) => i === 0 || e.t >= events[i - 1].t), "timestamps go backwards");
    assertEquals(ofType(events, "error"), []);
    assertEquals(ofType(events, "redis-ready").length, 1);

    const phaseAt = (phase: string) =>
      events.findIndex((e) => e.type === "phase" && e.phase === phase);
    for (const peer of ["alice", "bob", "carol"]) {
      const statuses = ofType(events, "peer-status").filter((e) => e.peer === peer);
      const started = events.findIndex((e) =>
        e.type === "peer-status" && e.peer === peer && e.status === "started"
      );
      assert(started > 0 && started < phaseAt("bootstrap"), `${peer} started after bootstrap`);
      assertEquals(statuses[0].previous, null);
      assertEquals(statuses.at(-1)?.status, "stopped");
      for (let i = 1; i < statuses.length; i++) {
        assertEquals(statuses[i].previous, statuses[i - 1].status);
      }
      const launched = events.findIndex((e) => e.type === "peer-launched" && e.peer === peer);
      const starting = events.findIndex((e) => e.type === "peer-starting" && e.peer === peer);
      assert(starting > phaseAt("starting") && launched > starting);
      const exits = ofType(events, "peer-exited").filter((e) => e.peer === peer);
      assertEquals(exits.map((e) => [e.code, e.expected]), [[0, true]]);
    }

    const timed = ofType(events, "command-sent").filter((e) => e.index !== undefined);
    assertEquals(timed.map((e) => [e.index, e.peer, e.command]), [
      [0, "alice", "connect"],
      [1, "bob", "connect"],
      [2, "carol", "connect"],
      [3, "alice", "push|bob|hello"],
      [4, "bob", "pull"],
    ]);
    for (const e of timed) assert(e.lateMs !== undefined && e.lateMs >= 0 && e.dueMs !== undefined);
    // One acknowledgement per batch, after that batch's command-sent events, no earlier than them.
    const acks = ofType(events, "commands-acknowledged");
    assertEquals(acks.map((e) => [e.dueMs, e.indexes]), [[0, [0, 1]], [100, [2]], [300, [3, 4]]]);
    for (const ack of acks) {
      const sent = timed.filter((e) => ack.indexes.includes(e.index!));
      assert(sent.every((e) => events.indexOf(e) < events.indexOf(ack)), "ack before its send");
      assert(sent.every((e) => ack.ackLateMs >= e.lateMs!), "acknowledged before dispatched");
    }
    const shutdowns = ofType(events, "command-sent").filter((e) => e.command === "shutdown");
    assertEquals(shutdowns.map((e) => e.peer).sort(), ["alice", "bob", "carol"]);
    assert(logsOf(events, "bob").includes("pulled messages (pull #1; 0 pushed by this peer)"));
    assert(logsOf(events, "alice").includes("push to bob: hello"));

    const finished = ofType(events, "run-finished")[0];
    assertEquals(finished.verdict, "passed");
    assertEquals(
      finished.peers.map((p) => [p.peer, p.host, p.status, p.restarts, p.errors, p.exitCode]),
      [
        ["alice", "local", "stopped", 0, 0, 0],
        ["bob", "local", "stopped", 0, 0, 0],
        ["carol", "local", "stopped", 0, 0, 0],
      ],
    );
    assertNoProcessLeft(outcome);

    const text = await Deno.readTextFile(`${dir}/run.log`);
    const lines = text.trimEnd().split("\n");
    // One line per event logged at the default log_level (info: not the debug `starting` ones),
    // plus run-started's plan (3) and timeline (5), the summaries (3), exit output.
    const logged = events.filter((event) => isLogged(event, "info"));
    assert(logged.length < events.length, "the debug events are left out");
    assertEquals(lines.length, logged.length + 3 + 5 + 3 + countOutputLines(events));
    assert(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[ +0\.\d{3}s\] tm +RUN +test \S+: 3 peers on 1 host, 5 timeline commands, seed \d+; run /
        .test(lines[0]),
    );
    assert(lines.some((l) => / alice +STATUS +started vlad-\S+ \(was none\)$/.test(l)));
    assert(lines.some((l) => / carol +info +connected as vlad-/.test(l)));
    assert(lines.some((l) => / bob +SENT +pull \(#4 due 0\.300s late /.test(l)));
    assert(/ tm +RESULT +passed \(exit 0\)/.test(lines.at(-4)!), lines.at(-4));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Extra log-file lines beyond one per event: run-started's plan and timeline, exit output. */
function countOutputLines(events: EngineEvent[]): number {
  return ofType(events, "peer-exited").reduce((n, e) => n + (e.output?.length ?? 0), 0);
}

Deno.test("run() bootstraps each peer with peer|<address> of each of its bootstrap peers, in one pipeline [integration: redis-server, processes]", async () => {
  const config = scenario({
    peers: [
      { name: "alice" },
      { name: "bob", bootstrap: ["alice"] },
      { name: "carol", bootstrap: ["alice", "bob"] },
    ],
    commands: [{ time: 0, peer: "carol", command: "connect" }],
  });
  const outcome = await runScenario(config);
  const { result, events } = outcome;
  assertEquals(result.exitCode, 0, result.reason);
  const address = (peer: string) =>
    ofType(events, "peer-status").find((e) => e.peer === peer && e.status === "started")
      ?.address;
  const alice = address("alice")!;
  const bob = address("bob")!;
  assertEquals(alice, `${await vladFor("alice")}|/ip4/127.0.0.1/udp/21000/quic-v1`);
  assertEquals(bob, `${await vladFor("bob")}|/ip4/127.0.0.1/udp/21001/quic-v1`);

  const bootstrapStart = events.findIndex((e) => e.type === "phase" && e.phase === "bootstrap");
  const timelineStart = events.findIndex((e) => e.type === "phase" && e.phase === "timeline");
  const sent = events.slice(bootstrapStart, timelineStart).filter((e) =>
    e.type === "command-sent"
  ) as EventOf<"command-sent">[];
  assertEquals(sent.map((e) => [e.peer, e.command, e.index, e.lateMs]), [
    ["bob", `peer|${alice}`, undefined, undefined],
    ["carol", `peer|${alice}`, undefined, undefined],
    ["carol", `peer|${bob}`, undefined, undefined],
  ]);
  const adding = (peer: string) =>
    logsOf(events, peer).filter((m) => m.startsWith("adding bootstrap peer: "));
  assertEquals(adding("alice"), []);
  assertEquals(adding("bob"), [`adding bootstrap peer: ${alice.replace("|", " at ")}`]);
  assertEquals(adding("carol"), [
    `adding bootstrap peer: ${alice.replace("|", " at ")}`,
    `adding bootstrap peer: ${bob.replace("|", " at ")}`,
  ]);
  assert(logsOf(events, "carol").includes("connecting to the network via 2 bootstrap peer(s)"));
  assertNoProcessLeft(outcome);
});

Deno.test("run() re-sends a restarted peer its bootstrap commands when it reports started again [integration: redis-server, processes]", async () => {
  const config = scenario({
    peers: [{ name: "alice" }, { name: "bob", bootstrap: ["alice"] }],
    commands: [
      { time: 0, peer: "bob", command: "restart|0.1" },
      // Late enough for bob to be back (a deno process start) before the shutdown.
      { time: 6, peer: "bob", command: "connect" },
    ],
  });
  const outcome = await runScenario(config);
  const { result, events } = outcome;
  assertEquals(result.exitCode, 0, result.reason);
  const bobStatuses = ofType(events, "peer-status").filter((e) => e.peer === "bob")
    .map((e) => e.status);
  // (A status overwritten before tm reads it is not seen, so only these are certain.)
  assertEquals(bobStatuses.slice(0, 3), ["started", "restarting", "started"]);
  assertEquals(bobStatuses.at(-1), "stopped");
  const toBob = ofType(events, "command-sent").filter((e) => e.peer === "bob")
    .map((e) => e.command.split("|")[0]);
  assertEquals(toBob, ["peer", "restart", "peer", "connect", "shutdown"]);
  assertEquals(
    logsOf(events, "bob").filter((m) => m.startsWith("adding bootstrap peer: vlad-")).length,
    2,
  );
  assert(logsOf(events, "bob").includes("connecting to the network via 1 bootstrap peer(s)"));
  const bob = ofType(events, "run-finished")[0].peers.find((p) => p.peer === "bob")!;
  assertEquals([bob.restarts, bob.status, bob.exitCode], [1, "stopped", 0]);
  assertNoProcessLeft(outcome);
});

Deno.test("run() waits at shutdown for a peer still restarting: it is re-bootstrapped, then sent shutdown [integration: redis-server, processes]", async () => {
  const config = scenario({
    peers: [{ name: "alice" }, { name: "bob", bootstrap: ["alice"] }],
    commands: [
      // bob is down for 2 s; the timeline ends at 1 s, once bob said `restarting`.
      { time: 0, peer: "bob", command: "restart|2" },
      { time: 1, peer: "alice", command: "pull" },
    ],
  });
  const outcome = await runScenario(config);
  const { result, events } = outcome;
  assertEquals(result.exitCode, 0, result.reason);
  const toBob = ofType(events, "command-sent").filter((e) => e.peer === "bob")
    .map((e) => e.command.split("|")[0]);
  assertEquals(toBob, ["peer", "restart", "peer", "shutdown"]);
  assertEquals(
    logsOf(events, "bob").filter((m) => m.startsWith("adding bootstrap peer: vlad-")).length,
    2,
  );
  const waited = ofType(events, "trace").filter((e) => e.message.includes("to start again"));
  assertEquals(waited.map((e) => e.message), [
    `waiting up to ${config.timeout.startup}s for bob to start again before shutdown`,
  ]);
  assertEquals(ofType(events, "warning"), []);
  assertNoProcessLeft(outcome);
});

Deno.test("run() sends shutdown to a peer that did not come back from its restart within the startup timeout, with a warning [integration: redis-server, processes]", async () => {
  const config = scenario({
    peers: [{ name: "alice" }, { name: "bob" }],
    commands: [
      { time: 0, peer: "bob", command: "restart|60" },
      { time: 1, peer: "alice", command: "pull" },
    ],
    startup: 8,
    shutdown: 2,
  });
  const outcome = await runScenario(config);
  const { result, events } = outcome;
  assertEquals(ofType(events, "warning").map((e) => e.message), [
    "did not start again within 8s (timeout.startup), shutdown is sent anyway: bob",
  ]);
  // The shutdown judges it: asleep in its restart, it cannot say `stopped`.
  assertEquals(result.verdict, "failed");
  assert(
    /^shutdown timeout: 1 of 2 peers did not stop within 2s: bob\b/.test(result.reason ?? ""),
    result.reason,
  );
  const shutdowns = ofType(events, "command-sent").filter((e) => e.command === "shutdown");
  assertEquals(shutdowns.map((e) => e.peer).sort(), ["alice", "bob"]);
  assertNoProcessLeft(outcome);
});

Deno.test("run() delivers a burst of 20 commands due at the same instant in file order [integration: redis-server, processes]", async () => {
  const burst = Array.from({ length: 20 }, (_, i) => ({
    time: 0.2,
    peer: "bob",
    command: `push|alice|message ${i}`,
  }));
  const config = scenario({
    peers: [{ name: "alice" }, { name: "bob" }],
    commands: [
      // Interleave another peer's commands: each peer's own order must hold.
      ...burst.slice(0, 10),
      { time: 0.2, peer: "alice", command: "pull" },
      ...burst.slice(10),
    ],
  });
  const outcome = await runScenario(config);
  const { result, events } = outcome;
  assertEquals(result.exitCode, 0, result.reason);
  const expected = burst.map((c) => c.command);
  assertEquals(
    ofType(events, "command-sent").filter((e) => e.peer === "bob" && e.index !== undefined)
      .map((e) => e.command),
    expected,
  );
  // One batch: every command of the burst carries the same due time and lateness.
  const burstSent = ofType(events, "command-sent").filter((e) => e.index !== undefined);
  assertEquals(new Set(burstSent.map((e) => `${e.dueMs}/${e.lateMs}`)).size, 1);
  // The peer received (and logged, its log read back in order) them in file order.
  assertEquals(
    logsOf(events, "bob").filter((m) => m.startsWith("received command: push|"))
      .map((m) => m.slice("received command: ".length)),
    expected,
  );
  assertEquals(
    logsOf(events, "bob").filter((m) => m.startsWith("push to alice: ")),
    burst.map((_, i) => `push to alice: message ${i}`),
  );
  assertNoProcessLeft(outcome);
});

Deno.test("run() fails on the startup timeout, naming each missing peer with its last status [integration: redis-server, processes]", async () => {
  const config = scenario({
    peers: [
      { name: "alice" },
      { name: "bob", environment: { REF_PEER_NEVER_START: "1" } },
    ],
    commands: [{ time: 0, peer: "alice", command: "connect" }],
    startup: 6,
  });
  const outcome = await runScenario(config);
  const { result, events } = outcome;
  assertEquals([result.verdict, result.exitCode], ["failed", 1]);
  assert(
    result.reason?.startsWith(
      "startup timeout: 1 of 2 peers did not report started within 6s: bob (last status: none; last log: ",
    ),
    result.reason,
  );
  assert(result.reason?.includes("never reporting started"), result.reason);
  const phases = ofType(events, "phase").map((e) => e.phase);
  assertEquals(phases, ["redis", "hosts", "starting", "shutdown", "cleanup"]);
  // alice started, so she was shut down gracefully; bob was ended by the teardown.
  assertEquals(ofType(events, "command-sent").map((e) => [e.peer, e.command]), [[
    "alice",
    "shutdown",
  ]]);
  const exits = Object.fromEntries(ofType(events, "peer-exited").map((e) => [e.peer, e]));
  assertEquals([exits.alice.code, exits.alice.expected], [0, true]);
  assertEquals(exits.bob.expected, true);
  const finished = ofType(events, "run-finished")[0];
  assertEquals([finished.verdict, finished.exitCode, finished.reason], [
    "failed",
    1,
    result.reason,
  ]);
  assertNoProcessLeft(outcome);
});

Deno.test("run() fails at once when a peer crashes, with its exit code, not after a timeout [integration: redis-server, processes]", async () => {
  const config = scenario({
    peers: [{ name: "alice" }, { name: "bob" }],
    commands: [
      { time: 0, peer: "alice", command: "exit|3" },
      // Never reached: the crash ends the run first.
      { time: 120, peer: "bob", command: "connect" },
    ],
    startup: 60,
    shutdown: 60,
  });
  const outcome = await runScenario(config);
  const { result, events } = outcome;
  assertEquals(result, {
    verdict: "failed",
    exitCode: 1,
    reason: "peer alice exited with code 3 unexpectedly",
  });
  const crash = ofType(events, "peer-exited").find((e) => e.peer === "alice")!;
  assertEquals([crash.code, crash.expected], [3, false]);
  assert(crash.output && crash.output.length > 0, "the crash carries the peer's last output");
  const error = ofType(events, "error").find((e) => e.peer === "alice")!;
  assert(error.message.startsWith("alice exited with code 3 unexpectedly (last status: started)"));
  assertEquals(
    ofType(events, "command-sent").filter((e) => e.index !== undefined).map((e) => e.index),
    [0],
  );
  // bob is shut down gracefully; alice is not sent anything more.
  assertEquals(
    ofType(events, "command-sent").filter((e) => e.command === "shutdown").map((e) => e.peer),
    ["bob"],
  );
  const summary = ofType(events, "run-finished")[0].peers;
  assertEquals(summary.find((p) => p.peer === "alice")?.exitCode, 3);
  assertEquals(summary.find((p) => p.peer === "bob")?.status, "stopped");
  assertNoProcessLeft(outcome);
});

Deno.test("run() fails on the shutdown timeout, naming the peer that did not stop [integration: redis-server, processes]", async () => {
  const config = scenario({
    peers: [
      { name: "alice" },
      { name: "bob", environment: { REF_PEER_IGNORE_SHUTDOWN: "1" } },
    ],
    commands: [{ time: 0, peer: "alice", command: "connect" }],
    shutdown: 2,
  });
  const outcome = await runScenario(config);
  const { result, events } = outcome;
  assertEquals([result.verdict, result.exitCode], ["failed", 1]);
  assert(
    result.reason?.startsWith(
      "shutdown timeout: 1 of 2 peers did not stop within 2s: bob (last status: started; last log: warn ignoring shutdown",
    ),
    result.reason,
  );
  assertEquals(ofType(events, "phase").map((e) => e.phase).slice(-2), ["shutdown", "cleanup"]);
  const exits = Object.fromEntries(ofType(events, "peer-exited").map((e) => [e.peer, e]));
  assertEquals([exits.alice.code, exits.alice.expected], [0, true]);
  assertEquals(exits.bob.expected, true); // ended by the teardown
  assertNoProcessLeft(outcome);
});

Deno.test("run() stopped mid-timeline shuts peers down gracefully, exits 130 and leaves no process [integration: redis-server, processes]", async () => {
  const stop = new AbortController();
  const config = scenario({
    peers: [{ name: "alice" }, { name: "bob" }],
    commands: [
      { time: 0, peer: "alice", command: "connect" },
      { time: 120, peer: "bob", command: "connect" },
    ],
  });
  const outcome = await runScenario(config, {
    onEvent: (event) => {
      if (event.type === "peer-status" && event.peer === "alice" && event.status === "connected") {
        stop.abort();
      }
    },
    stop: stop.signal,
  });
  const { result, events } = outcome;
  assertEquals(result, {
    verdict: "interrupted",
    exitCode: 130,
    reason: "interrupted by the user",
  });
  assertEquals(ofType(events, "phase").map((e) => e.phase).slice(-3), [
    "timeline",
    "shutdown",
    "cleanup",
  ]);
  assertEquals(
    ofType(events, "command-sent").filter((e) => e.command === "shutdown").map((e) => e.peer),
    ["alice", "bob"],
  );
  const finished = ofType(events, "run-finished")[0];
  assertEquals(finished.peers.map((p) => p.status), ["stopped", "stopped"]);
  assertEquals(ofType(events, "peer-exited").map((e) => e.expected), [true, true]);
  assertNoProcessLeft(outcome);
});

Deno.test("run() killed after a stop skips the graceful shutdown and still cleans up [integration: redis-server, processes]", async () => {
  const stop = new AbortController();
  const kill = new AbortController();
  const config = scenario({
    peers: [{ name: "alice", environment: { REF_PEER_IGNORE_SHUTDOWN: "1" } }],
    commands: [{ time: 120, peer: "alice", command: "connect" }],
    shutdown: 600,
  });
  const outcome = await runScenario(config, {
    onEvent: (event) => {
      if (event.type === "phase" && event.phase === "timeline") stop.abort();
      if (event.type === "peer-log" && event.message.startsWith("ignoring shutdown")) kill.abort();
    },
    stop: stop.signal,
    kill: kill.signal,
  });
  const { result, events } = outcome;
  assertEquals([result.verdict, result.exitCode], ["interrupted", 130]);
  assertEquals(ofType(events, "run-finished")[0].exitCode, 130);
  assertNoProcessLeft(outcome);
});

Deno.test("run() fails clearly when Redis goes away mid-run, and still cleans up [integration: redis-server, processes]", async () => {
  let server: RedisServer | undefined;
  const redis: RedisProvider = {
    start: async () => server = await startRedisServer(),
  };
  const config = scenario({
    peers: [{ name: "alice" }],
    commands: [
      { time: 0, peer: "alice", command: "connect" },
      { time: 120, peer: "alice", command: "pull" },
    ],
  });
  const outcome = await runScenario(config, {
    redis,
    outageLimitMs: 500,
    onEvent: (event) => {
      if (event.type === "peer-status" && event.status === "connected") void server?.stop();
    },
  });
  const { result, events } = outcome;
  assertEquals([result.verdict, result.exitCode], ["failed", 1]);
  assert(result.reason?.startsWith("lost Redis: "), result.reason);
  assert(result.reason?.includes("unreachable"), result.reason);
  assert(ofType(events, "error").some((e) => e.message.startsWith("Redis failed: ")));
  assertEquals(ofType(events, "phase").at(-1)?.phase, "cleanup");
  assertEquals(events.at(-1)?.type, "run-finished");
  assertNoProcessLeft(outcome);
});

/** tm in miniature for the SIGINT test: interrupt handlers, run(), events as JSON lines. */
const INTERRUPTIBLE_RUN = (config: unknown) => `
import { run } from ${JSON.stringify(new URL("../../src/engine/run.ts", import.meta.url).href)};
import { ProcessRuntime } from ${
  JSON.stringify(new URL("../../src/runtimes/process/process_runtime.ts", import.meta.url).href)
};
import { installInterruptHandlers } from ${
  JSON.stringify(new URL("../../src/engine/interrupt.ts", import.meta.url).href)
};
import { place } from ${
  JSON.stringify(new URL("../../src/plan/placement.ts", import.meta.url).href)
};
import { localRedisProvider } from ${
  JSON.stringify(new URL("../support/redis_server.ts", import.meta.url).href)
};
const config = ${JSON.stringify(config)};
const runtime = new ProcessRuntime({
  command: () => [Deno.execPath(), "run", "-A", "--no-check", ${JSON.stringify(REFERENCE_PEER)}],
});
using interrupts = installInterruptHandlers();
const result = await run({
  config, plan: place(config), runtime, redis: localRedisProvider(),
  stop: interrupts.stop, kill: interrupts.kill,
  emit: (event) => console.log(JSON.stringify({ ...event, pids: runtime.pids })),
});
Deno.exit(result.exitCode);
`;

Deno.test("run() under SIGINT mid-timeline shuts down, exits 130 and leaves no process or Redis behind [integration: redis-server, processes, signals]", async () => {
  const config = scenario({
    peers: [{ name: "alice" }, { name: "bob" }],
    commands: [
      { time: 0, peer: "alice", command: "connect" },
      { time: 120, peer: "bob", command: "connect" },
    ],
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", INTERRUPTIBLE_RUN(config)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const events: (EngineEvent & { pids: number[] })[] = [];
  const pids = new Set<number>();
  try {
    for await (const line of lines(child.stdout)) {
      const event = JSON.parse(line);
      events.push(event);
      event.pids.forEach((pid: number) => pids.add(pid));
      if (
        event.type === "peer-status" && event.peer === "alice" && event.status === "connected"
      ) {
        child.kill("SIGINT");
      }
    }
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }
  const status = await child.status;
  assertEquals(status.code, 130);
  const finished = events.at(-1) as EventOf<"run-finished">;
  assertEquals([finished.type, finished.verdict], ["run-finished", "interrupted"]);
  assertEquals(finished.peers.map((p) => p.status), ["stopped", "stopped"]);
  assert(pids.size === 2, `expected 2 peer pids, saw ${[...pids]}`);
  for (const pid of pids) assert(!alive(pid), `peer process ${pid} outlived the run`);
  const url = (events.find((e) => e.type === "redis-ready") as EventOf<"redis-ready">).url;
  const port = Number(new URL(url).port);
  let refused = false;
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
  } catch {
    refused = true;
  }
  assert(refused, `Redis on port ${port} outlived the run`);
});

// ---- expectations and the verdict --------------------------------------------------------------

const checksOf = (events: EngineEvent[]) => ofType(events, "check-decided").map((e) => e.check);
const finishedOf = (events: EngineEvent[]) => ofType(events, "run-finished")[0];

Deno.test("run() passes a run whose checks all pass, each decided once and listed in run-finished [integration: redis-server, processes]", async () => {
  const config = scenario({
    peers: [{ name: "alice" }, { name: "bob", bootstrap: ["alice"] }],
    commands: [
      { time: 0, peer: "alice", command: "connect" },
      { time: 0, peer: "bob", command: "connect" },
      { time: 0.2, peer: "alice", command: "push|bob|hello" },
    ],
    expect: [
      { peer: "*", status: "started", by: 0 },
      { peer: "bob", status: "connected", by: 5 },
      { peer: "alice", log: "push to bob: hel+o", after: 0.1 },
      { peer: "*", no_log: "warn" },
      { peer: "*", restarts: 0 },
      { peer: ["alice", "bob"], exit_code: 0 },
    ],
  });
  const { result, events } = await runScenario(config);
  assertEquals(result, { verdict: "passed", exitCode: 0 }, JSON.stringify(checksOf(events)));
  const checks = checksOf(events);
  assertEquals(checks.map((c) => c.passed), [true, true, true, true, true, true]);
  assertEquals(finishedOf(events).checks, checks.toSorted((a, b) => a.index - b.index));
  const byIndex = new Map(checks.map((c) => [c.index, c]));
  assert(byIndex.get(0)!.atMs <= 0, "every peer started before the timeline");
  assert(byIndex.get(2)!.atMs >= 200, "the push was sent at 0.2 s");
  assertEquals(byIndex.get(1)!.description, "bob reports status connected by 5 s");
  const shutdownAt = events.find((e) => e.type === "phase" && e.phase === "shutdown")!.t;
  const decidedAt = new Map(ofType(events, "check-decided").map((e) => [e.check.index, e.t]));
  assert(decidedAt.get(1)! < shutdownAt, "a met check with by is decided at once");
  assert(decidedAt.get(4)! > shutdownAt, "restarts is judged at the end");
});

Deno.test("run() goes on to its end when checks fail, then fails naming them, with evidence [integration: redis-server, processes]", async () => {
  const config = scenario({
    peers: [{ name: "alice" }, { name: "bob" }],
    commands: [
      { time: 0, peer: "alice", command: "pull" },
      { time: 0.3, peer: "alice", command: "connect" },
      { time: 1, peer: "alice", command: "rotate-key" },
    ],
    expect: [
      { peer: "bob", status: "connected", by: 0.5 },
      { peer: "alice", no_log: "warn" },
      { peer: "alice", log: "never logged" },
      { peer: "alice", restarts: 1 },
      { peer: "bob", exit_code: 3 },
    ],
  });
  const { result, events } = await runScenario(config);
  assertEquals(result.verdict, "failed");
  assertEquals(result.exitCode, 1);
  assertEquals(
    result.reason,
    "check #0 failed: bob reports status connected by 0.5 s; " +
      "check #1 failed: alice logs nothing at warn or worse; " +
      "check #2 failed: alice logs a line matching /never logged/; " +
      "check #3 failed: alice restarts exactly 1 time; " +
      "check #4 failed: bob exits with code 3",
  );
  // The run went on: alice still connected after the failures, and every peer stopped.
  assert(ofType(events, "command-sent").some((e) => e.command === "connect"));
  assertEquals(finishedOf(events).peers.map((p) => p.status), ["stopped", "stopped"]);
  const checks = new Map(checksOf(events).map((c) => [c.index, c]));
  assertEquals(checks.get(0)!.evidence?.[0], "bob: last status started");
  assert(checks.get(0)!.atMs >= 500, `decided at its deadline, not before: ${checks.get(0)!.atMs}`);
  assertEquals(checks.get(1)!.evidence?.[0], "alice logged at warn: pull while not connected");
  assertEquals(checks.get(3)!.evidence, ["alice restarted 0 times"]);
  assertEquals(checks.get(4)!.evidence, ["bob exited with code 0"]);
});

Deno.test("run() fails a run whose peer reported failed|<reason>, with the reason, after running to its end [integration: redis-server, processes]", async () => {
  const config = scenario({
    peers: [{ name: "alice" }, { name: "bob" }],
    commands: [
      { time: 0, peer: "alice", command: "fail|disk full" },
      { time: 0.3, peer: "bob", command: "connect" },
    ],
  });
  const { result, events } = await runScenario(config);
  assertEquals(result, {
    verdict: "failed",
    exitCode: 1,
    reason: "peer alice reported failed: disk full",
  });
  const finished = finishedOf(events);
  assertEquals(finished.peers.map((p) => [p.peer, p.failure, p.status]), [
    ["alice", "disk full", "stopped"],
    ["bob", undefined, "stopped"],
  ]);
  assert(ofType(events, "command-sent").some((e) => e.command === "connect"), "the run went on");
  assert(
    ofType(events, "error").some((e) => e.peer === "alice" && e.message.includes("disk full")),
  );
});

Deno.test("run() with fail_fast stops at the first failed check, or at a peer reporting failed, and shuts down gracefully [integration: redis-server, processes]", async () => {
  const late = { time: 20, peer: "alice", command: "rotate-key" };
  const byCheck = await runScenario(scenario({
    peers: [{ name: "alice" }, { name: "bob" }],
    commands: [late],
    expect: [{ peer: "bob", status: "connected", by: 0.2 }, { peer: "*", restarts: 0 }],
    failFast: true,
    shutdown: 10,
  }));
  assertEquals(byCheck.result, {
    verdict: "failed",
    exitCode: 1,
    reason: "check #0 failed: bob reports status connected by 0.2 s",
  });
  assertEquals(ofType(byCheck.events, "command-sent").filter((e) => e.index !== undefined), []);
  assertEquals(finishedOf(byCheck.events).checks.map((c) => c.index), [0], "the rest undecided");
  assertEquals(finishedOf(byCheck.events).peers.map((p) => p.status), ["stopped", "stopped"]);

  // --fail-fast (the option) on a config without fail_fast.
  const byPeer = await (async () => {
    const config = scenario({
      peers: [{ name: "alice" }],
      commands: [{ time: 0, peer: "alice", command: "fail" }, late],
    });
    const events: EngineEvent[] = [];
    const runtime = new ProcessRuntime({
      command: () => [Deno.execPath(), "run", "-A", "--no-check", REFERENCE_PEER],
    });
    try {
      const result = await run({
        config,
        plan: place(config),
        runtime,
        redis: localRedisProvider(),
        emit: (event) => events.push(event),
        failFast: true,
      });
      return { result, events };
    } finally {
      await runtime.teardown({ force: true });
    }
  })();
  assertEquals(byPeer.result, {
    verdict: "failed",
    exitCode: 1,
    reason: "peer alice reported failed",
  });
  assertEquals(finishedOf(byPeer.events).peers[0].failure, "");
  assertEquals(ofType(byPeer.events, "command-sent").filter((e) => e.index === 1), []);
});

Deno.test("run() fails at once, without waiting for the startup timeout, when a peer reports failed before it started [integration: redis-server, processes]", async () => {
  // A peer that reports `failed|no disk` instead of `started`, then stays up (the teardown ends it).
  const lib = new URL("../../lib/typescript/mod.ts", import.meta.url).href;
  const peer = `import { MuleClientBuilder } from ${JSON.stringify(lib)};
    const client = await new MuleClientBuilder().build();
    await client.fail("no disk");
    await new Promise((resolve) => setTimeout(resolve, 120_000));`;
  const config = scenario({ peers: [{ name: "alice" }], commands: [], startup: 90 });
  const events: EngineEvent[] = [];
  const runtime = new ProcessRuntime({ command: () => [Deno.execPath(), "eval", peer] });
  try {
    const result = await run({
      config,
      plan: place(config),
      runtime,
      redis: localRedisProvider(),
      emit: (event) => events.push(event),
    });
    assertEquals(result, {
      verdict: "failed",
      exitCode: 1,
      reason: "peer alice reported failed before it started: no disk",
    });
    assertEquals(finishedOf(events).peers[0].failure, "no disk");
    assert(!ofType(events, "phase").some((e) => e.phase === "bootstrap"), "it never started");
  } finally {
    await runtime.teardown({ force: true });
  }
});

Deno.test("run() waits for stopped peers' exits within timeout.shutdown, not a fixed 5 s: each is judged an exit of its own [integration: redis-server, processes]", async () => {
  // Hundreds of containers stopping at once have their exits reported over many seconds: here
  // the runtime reports each peer's exit 3.5 s after the one before, 10.5 s in all.
  const processes = referencePeerRuntime();
  const delays = new Map([["alice", 3_500], ["bob", 7_000], ["carol", 10_500]]);
  const runtime: PeerRuntime = {
    kind: processes.kind,
    setup: (options) => processes.setup(options),
    redisUrlFor: (placement, url) => processes.redisUrlFor(placement, url),
    start: async (launch, signal) => {
      const peer = await processes.start(launch, signal);
      const delay = delays.get(peer.name) ?? 0;
      const exited = peer.exited.then((exit) =>
        new Promise<typeof exit>((resolve) => setTimeout(() => resolve(exit), delay))
      );
      return { ...peer, exited };
    },
    teardown: (options) => processes.teardown(options),
  };
  const config = scenario({
    peers: [{ name: "alice" }, { name: "bob" }, { name: "carol" }],
    commands: [{ time: 0, peer: "alice", command: "connect" }],
    shutdown: 30,
    expect: [{ peer: "*", exit_code: 0 }],
  });
  const { result, events } = await runScenario(config, { runtime });
  assertEquals(result, { verdict: "passed", exitCode: 0 }, JSON.stringify(checksOf(events)));
  assertEquals(
    ofType(events, "peer-exited").map((e) => [e.peer, e.code]).sort(),
    [["alice", 0], ["bob", 0], ["carol", 0]],
  );
});
