/**
 * What the engine does with a runtime's own failures: `RuntimeContext.fail` (a host lost for
 * good) fails the run and winds it down gracefully; a `left-behind` report from the teardown fails
 * a run that otherwise passed. Real redis-server, reference peers as real processes.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { run } from "../../src/engine/run.ts";
import { ProcessRuntime } from "../../src/runtimes/process/process_runtime.ts";
import type { EngineEvent, EventOf } from "../../src/engine/events.ts";
import type { RuntimeContext, TeardownOptions } from "../../src/engine/runtime.ts";
import { ConfigSchema } from "../../src/plan/schema.ts";
import { planConfig } from "../../src/plan/plan_config.ts";
import { place } from "../../src/plan/placement.ts";
import { localRedisProvider } from "../support/redis_server.ts";

const REFERENCE_PEER = new URL("../../lib/typescript/reference_peer.ts", import.meta.url).pathname;

/** ProcessRuntime that hands out the context's `fail` and can report containers left behind. */
class ReportingRuntime extends ProcessRuntime {
  fail: ((reason: string) => void) | undefined;

  constructor(readonly leaves: string[] = []) {
    super({ command: () => [Deno.execPath(), "run", "-A", "--no-check", REFERENCE_PEER] });
  }

  override setup(context: RuntimeContext): Promise<void> {
    this.fail = context.fail;
    return super.setup(context);
  }

  override async teardown(options: TeardownOptions = {}): Promise<void> {
    await super.teardown(options);
    if (this.leaves.length === 0) return;
    options.emit?.({
      type: "left-behind",
      host: "local",
      containers: this.leaves,
      reason: "connection lost",
    });
  }
}

function scenario(lastCommandAt: number) {
  return planConfig(ConfigSchema.parse({
    name: "runtime-failure-test",
    timeout: { startup: 30, shutdown: 10 },
    redis: { port: 6399, image: "redis:7-alpine" },
    peer_environment: { ADVERTISE_IP: "127.0.0.1" },
    hosts: [{
      address: "127.0.0.1",
      name: "local",
      ssh_user: "me",
      ssh_auth: "agent",
      base_port: 21100,
    }],
    peers: [{ name: "alice", image: "reference-peer" }, { name: "bob", image: "reference-peer" }],
    commands: [
      { time: 0, peer: "alice", command: "connect" },
      { time: lastCommandAt, peer: "bob", command: "pull" },
    ],
  }));
}

const ofType = <K extends EngineEvent["type"]>(events: EngineEvent[], type: K) =>
  events.filter((event): event is EventOf<K> => event.type === type);

Deno.test("run() fails naming the host when the runtime reports it lost, then shuts every peer down [integration: redis-server, processes]", async () => {
  const config = scenario(120);
  const runtime = new ReportingRuntime();
  const events: EngineEvent[] = [];
  try {
    const result = await run({
      config,
      plan: place(config),
      runtime,
      redis: localRedisProvider(),
      emit: (event) => {
        events.push(event);
        if (event.type === "phase" && event.phase === "timeline") {
          runtime.fail?.("host local lost: connection lost and not restored within 30 s");
        }
      },
    });
    const reason = "host local lost: connection lost and not restored within 30 s";
    assertEquals(result, { verdict: "failed", exitCode: 1, reason });
    assert(ofType(events, "error").some((e) => e.message === reason));
    const shutdowns = ofType(events, "command-sent").filter((e) => e.command === "shutdown");
    assertEquals(shutdowns.map((e) => e.peer).sort(), ["alice", "bob"]);
    assert(!ofType(events, "command-sent").some((e) => e.command === "pull"), "timeline cut");
    assertEquals(
      ofType(events, "run-finished")[0].peers.map((p) => p.status),
      ["stopped", "stopped"],
    );
  } finally {
    await runtime.teardown({ force: true });
  }
});

Deno.test("run() fails a run that passed when the teardown left containers behind [integration: redis-server, processes]", async () => {
  const config = scenario(0.2);
  const runtime = new ReportingRuntime(["tm-runtime-failure-test-bob"]);
  const events: EngineEvent[] = [];
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
      reason: "cleanup could not remove every container (1 on local)",
    });
    assertEquals(ofType(events, "left-behind").map((e) => e.containers), [[
      "tm-runtime-failure-test-bob",
    ]]);
  } finally {
    await runtime.teardown({ force: true });
  }
});
