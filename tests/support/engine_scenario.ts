/**
 * The engine end to end in a test: a config of TypeScript reference peers run as local
 * processes (ProcessRuntime) against a real redis-server, every event collected.
 */
import type { Steering } from "../../src/engine/steering.ts";
import { run, type RunResult } from "../../src/engine/run.ts";
import { ProcessRuntime } from "../../src/runtimes/process/process_runtime.ts";
import { type EngineEvent, type EventOf, fanout } from "../../src/engine/events.ts";
import type { RedisProvider } from "../../src/engine/redis_provider.ts";
import { RedisCoordination } from "../../src/coordination/redis_coordination.ts";
import type { PeerRuntime } from "../../src/engine/runtime.ts";
import { type Config, ConfigSchema } from "../../src/plan/schema.ts";
import { planConfig } from "../../src/plan/plan_config.ts";
import { place } from "../../src/plan/placement.ts";
import { localRedisProvider } from "./redis_server.ts";
import { assert } from "./assert.ts";
import { alive } from "./process_output.ts";

/** The TypeScript reference peer's source, which the process runtime runs with `deno run`. */
export const REFERENCE_PEER = new URL("../../lib/typescript/reference_peer.ts", import.meta.url)
  .pathname;

export interface ScenarioPeer {
  name: string;
  bootstrap?: string[];
  environment?: Record<string, string>;
}

/**
 * A config of reference peers on one local host; peers log at debug to show what they got.
 * `commands` is the timeline as a test file writes it (commands and faults).
 */
export function scenario(options: {
  peers: ScenarioPeer[];
  commands: Record<string, unknown>[];
  startup?: number;
  shutdown?: number;
  /** The `expect:` list. Default: none. */
  expect?: unknown[];
  /** `fail_fast`. Default: false. */
  failFast?: boolean;
}): Config {
  return planConfig(ConfigSchema.parse({
    name: "engine-test",
    timeout: { startup: options.startup ?? 30, shutdown: options.shutdown ?? 10 },
    redis: { port: 6399, image: "redis:7-alpine" },
    peer_environment: { LOG_LEVEL: "debug", ADVERTISE_IP: "127.0.0.1" },
    hosts: [{
      address: "127.0.0.1",
      name: "local",
      ssh_user: "me",
      ssh_auth: "agent",
      base_port: 21000,
    }],
    peers: options.peers.map((peer) => ({ image: "reference-peer", ...peer })),
    commands: options.commands,
    expect: options.expect ?? [],
    fail_fast: options.failFast ?? false,
  }));
}

export interface ScenarioOutcome {
  result: RunResult;
  events: EngineEvent[];
  /** Every peer pid the runtime ever reported. */
  pids: Set<number>;
}

/** The process runtime running reference peers (`deno run` of lib/typescript/reference_peer.ts). */
export function referencePeerRuntime(onOutput?: () => void): ProcessRuntime {
  return new ProcessRuntime({
    command: () => [Deno.execPath(), "run", "-A", "--no-check", REFERENCE_PEER],
    onOutput,
  });
}

/**
 * Runs `config` with reference peers as processes and a local redis-server.
 * @param options.runtime what runs the peers instead of a new `referencePeerRuntime()` (its
 *   pids are not collected then)
 * @param options.redis where Redis comes from (default: a local redis-server per run)
 * @param options.extraSink a second sink every event also goes to (a log file)
 * @param options.outageLimitMs the coordination's Redis outage limit (default: its own)
 */
export async function runScenario(
  config: Config,
  options: {
    stop?: AbortSignal;
    kill?: AbortSignal;
    onEvent?: (event: EngineEvent) => void;
    runtime?: PeerRuntime;
    redis?: RedisProvider;
    extraSink?: (event: EngineEvent) => void;
    outageLimitMs?: number;
    /** The manual timeline entries' channel (the TUI's `:` prompt). Default: none. */
    steering?: Steering;
  } = {},
): Promise<ScenarioOutcome> {
  const events: EngineEvent[] = [];
  const pids = new Set<number>();
  const processes = referencePeerRuntime(() => processes.pids.forEach((pid) => pids.add(pid)));
  const runtime = options.runtime ?? processes;
  const collect = (event: EngineEvent) => {
    events.push(event);
    processes.pids.forEach((pid) => pids.add(pid));
    options.onEvent?.(event);
  };
  try {
    const result = await run({
      config,
      plan: place(config),
      runtime,
      redis: options.redis ?? localRedisProvider(),
      openCoordination: (url, signal) =>
        RedisCoordination.open(url, { signal, outageLimitMs: options.outageLimitMs }),
      emit: options.extraSink ? fanout(collect, options.extraSink) : collect,
      stop: options.stop,
      kill: options.kill,
      ...(options.steering ? { steering: options.steering } : {}),
    });
    return { result, events, pids };
  } finally {
    await runtime.teardown({ force: true }); // idempotent; run() already did it
    await processes.teardown({ force: true });
  }
}

/** The events of one type, in order. */
export function ofType<K extends EngineEvent["type"]>(
  events: EngineEvent[],
  type: K,
): EventOf<K>[] {
  return events.filter((event): event is EventOf<K> => event.type === type);
}

/** The messages of a peer's log lines, in order. */
export function logsOf(events: EngineEvent[], peer: string): string[] {
  return ofType(events, "peer-log").filter((event) => event.peer === peer).map((e) => e.message);
}

/** No peer process the run started is still alive. */
export function assertNoProcessLeft(outcome: ScenarioOutcome): void {
  assert(outcome.pids.size > 0, "no peer pid was observed");
  for (const pid of outcome.pids) assert(!alive(pid), `peer process ${pid} outlived the run`);
}
