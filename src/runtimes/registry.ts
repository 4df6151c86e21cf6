/**
 * The runtimes a config can select, and how it selects them: each host's `connection` names the
 * runtime that runs the peers placed on it. `ssh` and `local` hosts both run peers as Docker
 * containers (the `Remote` each opens is chosen in `connect.ts`); a `swarm` entry selects the
 * swarm runtime, whose hosts are the swarm's nodes, found at run time (its entry's `hosts`). Each
 * runtime's entry gives everything the CLI needs of it — the `PeerRuntime`, the Redis
 * it starts when no `--redis-url` is given, and `--reset-hosts` — so `src/cli/` holds no per-runtime
 * code. A Kubernetes or Swarm runtime is added here: a `connection` kind in the config schema, its
 * entry below, and `tests/runtimes/runtime_contract_test.ts` run against it.
 *
 * The process runtime (`src/runtimes/process/process_runtime.ts`) is not selectable: it runs the engine's
 * tests and passes the same contract test.
 */
import type { Config } from "../plan/schema.ts";
import { type RuntimeKind, runtimeKindOf } from "./runtime_kind.ts";
import type { PeerRuntime } from "../engine/runtime.ts";
import type { RedisProvider } from "../engine/redis_provider.ts";
import type { PlacedPeer } from "../plan/placement.ts";
import type { RunOwner } from "../coordination/run_owner.ts";
import { connectHost } from "../transport/connect.ts";
import { DockerRuntime } from "./docker/docker_runtime.ts";
import { DockerRedis } from "./docker/docker_redis.ts";
import { resetHosts } from "./docker/reset.ts";
import { findSwarmHosts, SwarmRuntime } from "./swarm/swarm_runtime.ts";
import { resetSwarm } from "./swarm/swarm_reset.ts";

// Kept importable from here; their owner is runtime_kind.ts (loads no runtime).
export {
  HOSTS_FOUND_AT_RUN_TIME,
  MixedRuntimesError,
  RUNTIME_OF_CONNECTION,
  type RuntimeKind,
  runtimeKindOf,
} from "./runtime_kind.ts";

/** What every runtime is built from. */
export interface RuntimeOptions {
  config: Config;
  plan: PlacedPeer[];
  /** Unique per run: what the runtime starts carries it. */
  runId: string;
  /** Who runs it, as what the runtime starts is labelled. Default: this process. */
  owner?: RunOwner;
}

/** What the Redis a runtime starts is built from. */
export interface RedisOptions {
  config: Config;
  runId: string;
  owner: RunOwner;
}

/** What `--reset-hosts` and `--reset-hosts-all` are given. */
export interface ResetOptions {
  config: Config;
  /** `--reset-hosts-all`: everything unused; else the config's `images`. */
  all: boolean;
  /** One line per step. */
  print: (line: string) => void;
  /** One line per Engine API call with its duration (`--verbose`). Default: none. */
  trace?: (line: string) => void;
}

/** One runtime: everything the CLI builds or does per runtime. */
export interface RuntimeEntry {
  /** The PeerRuntime (connects nothing until `setup`). */
  create(options: RuntimeOptions): PeerRuntime;
  /** The Redis the run starts when the user gives no `--redis-url`. */
  redis(options: RedisOptions): RedisProvider;
  /** `--reset-hosts[-all]` on every host of the config; throws naming the hosts that failed. */
  reset(options: ResetOptions): Promise<void>;
  /** What `--reset-hosts-all` removes from `hosts` (a list of names), asked before it does. */
  resetAllWarning(hosts: string): string;
  /**
   * For a runtime whose hosts are found at run time (a cluster's nodes): the config with one
   * host entry per node, asked of the cluster. The run places peers on them and shows the plan
   * then; `tm validate`, which contacts nothing, shows no plan. Absent: the config's hosts are
   * the hosts. `create` is given the config this returned.
   */
  hosts?(config: Config, signal: AbortSignal): Promise<Config>;
}

/** The runtimes a config can select, by kind. */
export const RUNTIMES = {
  docker: {
    create: (options) => new DockerRuntime({ ...options, connect: connectHost }),
    redis: ({ config, runId, owner }) =>
      new DockerRedis({ redis: config.redis, runId, test: config.name, owner }),
    reset: async ({ config, all, print, trace }) => {
      await resetHosts({ config, connect: connectHost, all, print, trace });
    },
    resetAllWarning: (hosts) =>
      `docker system prune -af removes every unused image, container, network and build cache ` +
      `on ${hosts}`,
  },
  swarm: {
    hosts: findSwarmHosts,
    create: (options) => new SwarmRuntime(options),
    redis: ({ config, runId, owner }) =>
      new DockerRedis({ redis: config.redis, runId, test: config.name, owner }),
    reset: (options) => resetSwarm(options),
    resetAllWarning: (hosts) =>
      `docker system prune -af removes every unused image, container, network and build cache ` +
      `on every node of ${hosts}`,
  },
} as const satisfies Record<RuntimeKind, RuntimeEntry>;

/** The entry of the runtime the config selects. */
export function runtimeOf(config: Config): RuntimeEntry {
  return RUNTIMES[runtimeKindOf(config)];
}

/** Builds the runtime the config selects. */
export function createRuntime(options: RuntimeOptions): PeerRuntime {
  return runtimeOf(options.config).create(options);
}
