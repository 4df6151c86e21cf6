/**
 * SwarmRuntime: the PeerRuntime of a Docker Swarm (`connection: swarm`). The swarm's nodes are
 * found at run time (`findSwarmHosts`, the registry's `hosts` step, before placement) and become
 * the run's hosts; each peer is then a service of one task on the node the placement chose
 * (`SwarmManager.runService`), started through the Docker runtime's launcher seam, so that
 * everything else — image shipping to each node, the exit watch on the node's `/events`, logs,
 * faults through the node's engine and shell, config dirs, leftovers of containers — is the
 * Docker runtime's, on each node's engine. This class adds what is the swarm's: services of
 * dead runs of the test removed at setup (a live run's refused), and this run's services removed
 * at teardown, after the Docker runtime collected the output and removed the task containers;
 * a service that cannot be removed is reported `left-behind`, with the `docker service rm` that
 * removes it. The manager's connection is reconnected when it drops (reported as the swarm's
 * `host-lost` and `host-reconnected`); teardown waits for it, or tries once more.
 */
import type { Config, SwarmHostConfig } from "../../plan/schema.ts";
import { hostName } from "../../plan/schema.ts";
import type {
  FaultControl,
  PeerLaunch,
  PeerRuntime,
  RunningPeer,
  RuntimeContext,
  RuntimeSink,
  TeardownOptions,
} from "../../engine/runtime.ts";
import type { PlacedPeer } from "../../plan/placement.ts";
import { currentOwner, describeOwner, type RunOwner } from "../../coordination/run_owner.ts";
import { DockerRuntime, HostSetupError } from "../docker/docker_runtime.ts";
import { LABELS, ownerOfLabels } from "../docker/container_names.ts";
import { runLiveness } from "../docker/run_liveness.ts";
import { connectHost } from "../../transport/connect.ts";
import { errorMessage } from "../../base/errors.ts";
import type { ConnectionEvent } from "../../transport/reconnecting_remote.ts";
import { connectionRunEvent } from "../docker/connection_events.ts";
import { SwarmManager } from "./swarm_api.ts";
import { swarmHosts } from "./swarm_nodes.ts";

/** What the run knows of the swarm once its nodes were found. */
export interface SwarmCluster {
  swarm: SwarmHostConfig;
  /** Node ID of each host of the resolved config, by host index. */
  nodeIds: string[];
  /** Each node's address in the swarm, by host index. */
  nodeAddresses: string[];
}

/** The swarm behind each config `findSwarmHosts` made. */
const CLUSTERS = new WeakMap<Config, SwarmCluster>();

/** The config's one swarm entry. */
export function swarmEntryOf(config: Config): SwarmHostConfig {
  const entry = config.hosts.find((host) => host.connection === "swarm");
  if (!entry || config.hosts.length > 1) {
    throw new Error("a swarm test has one host entry, connection: swarm");
  }
  return entry;
}

/**
 * The config with its swarm entry replaced by one host entry per node of the swarm (asked of its
 * manager), for placement and the plan. Throws naming the swarm when it cannot be asked, has no
 * node, or has a node tm cannot reach.
 */
export async function findSwarmHosts(config: Config, signal: AbortSignal): Promise<Config> {
  const swarm = swarmEntryOf(config);
  const manager = await SwarmManager.connect(swarm, signal);
  try {
    const [self, nodes] = await Promise.all([manager.nodeId(signal), manager.nodes(signal)]);
    const { hosts, nodeIds } = swarmHosts(swarm, nodes, self);
    const byId = new Map(nodes.map((node) => [node.id, node.address]));
    const resolved: Config = { ...config, hosts };
    CLUSTERS.set(resolved, {
      swarm,
      nodeIds,
      nodeAddresses: nodeIds.map((id) => byId.get(id) ?? ""),
    });
    return resolved;
  } finally {
    await manager.close();
  }
}

/** The swarm a config of `findSwarmHosts` stands for. */
export function clusterOf(config: Config): SwarmCluster {
  const cluster = CLUSTERS.get(config);
  if (!cluster) throw new Error("the swarm's nodes were not found yet (findSwarmHosts)");
  return cluster;
}

export interface SwarmRuntimeOptions {
  /** A config made by `findSwarmHosts`: one host per node. */
  config: Config;
  plan: PlacedPeer[];
  runId: string;
  owner?: RunOwner;
}

export class SwarmRuntime implements PeerRuntime {
  readonly kind = "swarm";
  readonly #options: SwarmRuntimeOptions;
  readonly #cluster: SwarmCluster;
  readonly #docker: DockerRuntime;
  readonly #owner: RunOwner;
  #manager: SwarmManager | undefined;
  #emit: RuntimeSink = () => {};
  #context: RuntimeContext | undefined;
  #teardown: Promise<void> | undefined;
  /** Aborted by a forced teardown (second interrupt): stops waiting for a lost manager. */
  readonly #forced = new AbortController();
  readonly faults: FaultControl;

  constructor(options: SwarmRuntimeOptions) {
    this.#options = options;
    this.#cluster = clusterOf(options.config);
    this.#owner = options.owner ?? currentOwner(options.runId, options.config.name);
    this.#docker = new DockerRuntime({
      ...options,
      owner: this.#owner,
      connect: connectHost,
      launch: ({ hostIndex, spec, imageId }, signal) => {
        const manager = this.#manager;
        if (!manager) return Promise.reject(new Error("the swarm runtime is not set up"));
        return manager.runService(spec, {
          nodeId: this.#cluster.nodeIds[hostIndex],
          nodeAddress: this.#cluster.nodeAddresses[hostIndex],
          imageId,
        }, signal);
      },
    });
    this.faults = this.#docker.faults;
  }

  async setup(context: RuntimeContext): Promise<void> {
    this.#emit = context.emit;
    this.#context = context;
    const trace = (message: string) => this.#emit({ type: "trace", message });
    this.#manager = await SwarmManager.connect(this.#cluster.swarm, context.signal, {
      trace,
      giveUpAfterMs: this.#options.config.timeout.startup * 1_000,
      onConnectionEvent: (event) => this.#onManagerConnection(event),
    });
    await this.#manager.nodeId(context.signal);
    await this.#docker.setup(context);
    await this.#clearLeftoverServices(this.#manager, context.signal);
  }

  /**
   * This test's services left by other runs: a dead run's are removed with a warning, a live
   * (or unknown) run's refuse the setup, naming the run, as the Docker runtime does containers.
   */
  async #clearLeftoverServices(manager: SwarmManager, signal: AbortSignal): Promise<void> {
    const { config, runId } = this.#options;
    const swarm = hostName(this.#cluster.swarm);
    const found = (await manager.services([`${LABELS.test}=${config.name}`], signal))
      .filter((s) => s.labels[LABELS.run] !== runId);
    const problems: { host: string; message: string }[] = [];
    for (const [run, services] of Map.groupBy(found, (s) => s.labels[LABELS.run] ?? "")) {
      const owner = ownerOfLabels(services[0].labels) ??
        { runId: run, test: config.name, hostname: "", machine: "", pid: 0, process: "" };
      const names = services.map((s) => s.name);
      const liveness = await runLiveness(owner, this.#context?.leaseHolder);
      if (liveness === "dead") {
        this.#emit({
          type: "warning",
          host: swarm,
          message: `removing ${services.length} service${services.length > 1 ? "s" : ""} ` +
            `left by run ${run} of this test, which is no longer running (${names.join(", ")})`,
        });
        const failed = await manager.removeServices(services.map((s) => s.id), signal);
        if (failed.size > 0) {
          problems.push({ host: swarm, message: [...failed.values()].join("; ") });
        }
      } else {
        problems.push({
          host: swarm,
          message:
            `${swarm}: ${describeOwner(owner)} ${
              liveness === "alive" ? "is still running" : "may still be running"
            } (services ${names.join(", ")}): wait for it to end, or remove them ` +
            `(docker service rm ${names.join(" ")})`,
        });
      }
    }
    if (problems.length > 0) throw new HostSetupError(problems);
  }

  /**
   * Reports what happens to the connection to the manager, as the Docker runtime does a host's.
   * Losing it for good does not fail the run: the peers are watched on their nodes' engines, and
   * the manager is needed again only at teardown, which tries once more to reach it.
   */
  #onManagerConnection(event: ConnectionEvent): void {
    const name = hostName(this.#cluster.swarm);
    if (event.type === "gave-up") {
      this.#emit({
        type: "warning",
        host: name,
        message: `the manager is lost (${
          event.error.message.replace(`${name}: `, "")
        }): cleanup tries once more to remove this run's services`,
      });
      return;
    }
    const run = connectionRunEvent(name, event);
    if (run) this.#emit(run);
  }

  redisUrlFor(placement: PlacedPeer, orchestratorUrl: string): string {
    return this.#docker.redisUrlFor(placement, orchestratorUrl);
  }

  advertiseIpFor(placement: PlacedPeer): string | undefined {
    return this.#docker.advertiseIpFor(placement);
  }

  start(launch: PeerLaunch, signal: AbortSignal): Promise<RunningPeer> {
    return this.#docker.start(launch, signal);
  }

  teardown(options: TeardownOptions = {}): Promise<void> {
    if (options.force) this.#forced.abort();
    const docker = this.#docker.teardown(options);
    this.#teardown ??= this.#teardownOnce(docker, options.emit ?? this.#emit);
    return this.#teardown;
  }

  /** After the Docker runtime's teardown (output collected, task containers removed): the services. */
  async #teardownOnce(docker: Promise<void>, sink: RuntimeSink): Promise<void> {
    await docker;
    const manager = this.#manager;
    if (!manager) return;
    const swarm = hostName(this.#cluster.swarm);
    const forced = this.#forced.signal;
    const label = `${LABELS.run}=${this.#options.runId}`;
    const remove = async () => {
      // A second interrupt cuts short the wait for a lost manager, never a removal under way.
      const signal = manager.connected ? undefined : forced;
      const ours = await manager.services([label], signal);
      const failed = await manager.removeServices(ours.map((s) => s.id));
      return { failed, left: await manager.services([label], signal) };
    };
    try {
      let removed;
      try {
        removed = await remove();
      } catch (error) {
        // The connection dropped (or reconnection was given up): reconnect and try once more.
        if (forced.aborted) throw error;
        const withinMs = this.#options.config.timeout.shutdown * 1_000;
        if (!manager.connected) {
          sink({
            type: "warning",
            host: swarm,
            message: `reconnecting to the manager to remove this run's services (for up to ${
              withinMs / 1_000
            } s)`,
          });
        }
        await manager.reconnect(withinMs, forced);
        removed = await remove();
      }
      const { failed, left } = removed;
      if (left.length > 0) {
        sink({
          type: "left-behind",
          host: swarm,
          containers: left.map((s) => `service ${s.name}`),
          reason: [...failed.values()][0] ?? "still listed after its removal",
          remove: `docker service rm ${left.map((s) => s.name).join(" ")}`,
        });
      }
    } catch (error) {
      sink({
        type: "left-behind",
        host: swarm,
        containers: [`the services labelled ${LABELS.run}=${this.#options.runId}`],
        reason: `could not ask the manager: ${errorMessage(error)}`,
        remove: `docker service rm $(docker service ls -q --filter label=${label})`,
      });
    } finally {
      await manager.close();
    }
  }
}
