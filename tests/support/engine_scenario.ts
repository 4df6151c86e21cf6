/**
 * The engine end to end in a test: a config of TypeScript reference peers run as local
 * processes (ProcessRuntime) against a real redis-server, every event collected.
 */
import { run, type RunResult } from "../../src/engine/run.ts";
import { ProcessRuntime } from "../../src/engine/process_runtime.ts";
import type { EngineEvent, EventOf } from "../../src/engine/events.ts";
import type { PeerRuntime } from "../../src/engine/runtime.ts";
import { type Config, ConfigSchema } from "../../src/config/schema.ts";
import { place } from "../../src/placement.ts";
import { localRedisProvider } from "./redis_server.ts";
import { assert } from "./assert.ts";
import { alive } from "./process_output.ts";

const REFERENCE_PEER = new URL("../../lib/typescript/reference_peer.ts", import.meta.url).pathname;

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
}): Config {
  return ConfigSchema.parse({
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
  });
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
 */
export async function runScenario(
  config: Config,
  options: {
    stop?: AbortSignal;
    kill?: AbortSignal;
    onEvent?: (event: EngineEvent) => void;
    runtime?: PeerRuntime;
  } = {},
): Promise<ScenarioOutcome> {
  const events: EngineEvent[] = [];
  const pids = new Set<number>();
  const processes = referencePeerRuntime(() => processes.pids.forEach((pid) => pids.add(pid)));
  const runtime = options.runtime ?? processes;
  try {
    const result = await run({
      config,
      plan: place(config),
      runtime,
      redis: localRedisProvider(),
      emit: (event) => {
        events.push(event);
        processes.pids.forEach((pid) => pids.add(pid));
        options.onEvent?.(event);
      },
      stop: options.stop,
      kill: options.kill,
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

/** No peer process the run started is still alive. */
export function assertNoProcessLeft(outcome: ScenarioOutcome): void {
  assert(outcome.pids.size > 0, "no peer pid was observed");
  for (const pid of outcome.pids) assert(!alive(pid), `peer process ${pid} outlived the run`);
}
