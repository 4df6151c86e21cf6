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
import {
  DEFAULT_STARTS_PER_HOST,
  DockerRuntime,
  HostSetupError,
} from "../docker/docker_runtime.ts";
import { containerName, LABELS, ownerOfLabels, peerLabels } from "../docker/container_names.ts";
import { hostnameOf } from "../docker/container_launches.ts";
import { DockerEngine } from "../docker/engine_api.ts";
import type { RunSpec } from "../docker/docker.ts";
import { HOST_GATEWAY_MAPPING, HOST_GATEWAY_NAME, peerRedisUrl } from "../docker/redis_address.ts";
import { forEachConcurrently, Limiter } from "../../base/async.ts";
import { runLiveness } from "../docker/run_liveness.ts";
import { connectHost } from "../../transport/connect.ts";
import { errorMessage } from "../../base/errors.ts";
import type { ConnectionEvent } from "../../transport/reconnecting_remote.ts";
import { connectionRunEvent } from "../docker/connection_events.ts";
import { SwarmManager, TaskFailedError } from "./swarm_api.ts";
import { swarmHosts } from "./swarm_nodes.ts";
import { type PushedImage, pushImages, removePushedReferences } from "./registry_push.ts";
import { TaskExits } from "./task_exits.ts";
import { registryAuth } from "./registry_auth.ts";
import { NodeBoundFaults, refuseFaultsOnManagedNodes } from "./manager_node_faults.ts";

/** Lines of output kept in an exit report of a peer watched through the manager. */
const EXIT_LOG_LINES = 50;

/** Peers whose output teardown reads from the manager at once. */
const OUTPUT_READS_AT_ONCE = 4;

/** What the run knows of the swarm once its nodes were found. */
export interface SwarmCluster {
  swarm: SwarmHostConfig;
  /** Node ID of each host of the resolved config, by host index. */
  nodeIds: string[];
  /** Each node's address in the swarm, by host index. */
  nodeAddresses: string[];
  /** By host index: a node tm cannot reach, watched through the manager (`registry:` only). */
  viaManager: boolean[];
  /** The address of the manager's own node in the swarm (where the nodes reach it). */
  managerAddress: string;
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
    const { hosts, nodeIds, viaManager } = swarmHosts(swarm, nodes, self);
    const byId = new Map(nodes.map((node) => [node.id, node.address]));
    const resolved: Config = { ...config, hosts };
    CLUSTERS.set(resolved, {
      swarm,
      nodeIds,
      nodeAddresses: nodeIds.map((id) => byId.get(id) ?? ""),
      viaManager,
      managerAddress: byId.get(self) ?? "",
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
  /** The peers on nodes tm reaches, on those nodes' engines (its own host numbering). */
  readonly #docker: DockerRuntime;
  /** The Docker runtime's host index of each host tm reaches, by host index of the config. */
  readonly #dockerIndex = new Map<number, number>();
  readonly #owner: RunOwner;
  #manager: SwarmManager | undefined;
  /** With `registry:`: where each peer image went, by image; this machine's engine. */
  #pushed: Map<string, PushedImage> | undefined;
  #local: DockerEngine | undefined;
  /** The exits of peers on nodes tm cannot reach; set up when there are any. */
  #taskExits: TaskExits | undefined;
  /** How the nodes tm cannot reach see this machine (for their peers' REDIS_URL). */
  #managerSeen: string | null = null;
  /** The service of each peer started through the manager alone. */
  readonly #viaManager = new Map<string, string>();
  readonly #viaManagerStarts = new Limiter(DEFAULT_STARTS_PER_HOST);
  readonly #starts = new Set<Promise<unknown>>();
  #tearingDown = false;
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
    const { config, plan } = options;
    const via = this.#cluster.viaManager;
    // A fault on a peer of a node tm cannot reach is refused before anything starts (exit 2).
    refuseFaultsOnManagedNodes(
      config,
      plan,
      new Set(config.hosts.flatMap((host, i) => via[i] ? [hostName(host)] : [])),
    );
    // The Docker runtime gets the nodes tm reaches, numbered from 0, and their peers.
    const reached = config.hosts.flatMap((_, i) => via[i] ? [] : [i]);
    reached.forEach((full, index) => this.#dockerIndex.set(full, index));
    this.#docker = new DockerRuntime({
      ...options,
      config: { ...config, hosts: reached.map((i) => config.hosts[i]) },
      plan: plan.filter((p) => !via[p.hostIndex]).map((p) => this.#dockerPlacement(p)),
      owner: this.#owner,
      connect: connectHost,
      launch: ({ hostIndex, spec, imageId }, signal) => {
        const manager = this.#manager;
        if (!manager) return Promise.reject(new Error("the swarm runtime is not set up"));
        const full = reached[hostIndex];
        const pinned = this.#pushed?.get(spec.image)?.pinned;
        return this.#withPullHint(
          manager.runService(spec, {
            nodeId: this.#cluster.nodeIds[full],
            nodeAddress: this.#cluster.nodeAddresses[full],
            imageId: pinned ?? imageId,
          }, signal),
          pinned,
        );
      },
    });
    const nodeOf = new Map(plan.filter((p) => via[p.hostIndex]).map((p) => [p.peer, p.host]));
    this.faults = new NodeBoundFaults(this.#docker.faults, (peer) => nodeOf.get(peer));
  }

  /** `placement` in the Docker runtime's host numbering (a host tm reaches). */
  #dockerPlacement(placement: PlacedPeer): PlacedPeer {
    const hostIndex = this.#dockerIndex.get(placement.hostIndex);
    if (hostIndex === undefined) throw new Error(`${placement.host} is watched by the manager`);
    return { ...placement, hostIndex };
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
    const { registry } = this.#cluster.swarm;
    if (registry !== undefined) {
      this.#local = DockerEngine.local({ trace });
      const images = [...new Set(this.#options.plan.map((p) => p.image))];
      this.#pushed = await pushImages({
        registry,
        images,
        auth: await registryAuth(registry),
        local: this.#local,
        signal: context.signal,
        // Shown without --verbose: a first push of a large image takes a while.
        trace: (message) => this.#emit({ type: "trace", level: "info", message }),
      });
    }
    if (this.#cluster.viaManager.includes(true)) {
      this.#managerSeen = this.#cluster.swarm.manager === "local"
        ? this.#cluster.managerAddress || null
        : await this.#manager.orchestratorAddress();
      this.#taskExits = new TaskExits({
        manager: this.#manager,
        logLines: EXIT_LOG_LINES,
        trace,
      });
    }
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
      const why = event.error.message.replace(`${name}: `, "");
      this.#emit({
        type: "warning",
        host: name,
        message: `the manager is lost (${why}): cleanup tries once more to remove this run's ` +
          "services",
      });
      // Peers on nodes tm cannot reach are seen only through the manager.
      if (this.#viaManager.size > 0 && !this.#tearingDown) {
        this.#context?.fail?.(
          `${name}: the manager is lost (${why}): the exits of the peers on nodes tm cannot ` +
            "reach can no longer be seen",
        );
      }
      return;
    }
    const run = connectionRunEvent(name, event);
    if (run) this.#emit(run);
  }

  redisUrlFor(placement: PlacedPeer, orchestratorUrl: string): string {
    if (!this.#cluster.viaManager[placement.hostIndex]) {
      return this.#docker.redisUrlFor(this.#dockerPlacement(placement), orchestratorUrl);
    }
    return peerRedisUrl(orchestratorUrl, {
      orchestratorAddress: this.#managerSeen,
      advertise: this.#options.config.redis.advertise,
    }).url;
  }

  advertiseIpFor(placement: PlacedPeer): string | undefined {
    if (!this.#cluster.viaManager[placement.hostIndex]) {
      return this.#docker.advertiseIpFor(this.#dockerPlacement(placement));
    }
    return this.#cluster.nodeAddresses[placement.hostIndex] || undefined;
  }

  start(launch: PeerLaunch, signal: AbortSignal): Promise<RunningPeer> {
    if (!this.#cluster.viaManager[launch.placement.hostIndex]) {
      return this.#docker.start(
        { ...launch, placement: this.#dockerPlacement(launch.placement) },
        signal,
      );
    }
    const started = this.#startViaManager(launch, signal);
    this.#starts.add(started);
    started.catch(() => {}).finally(() => this.#starts.delete(started));
    return started;
  }

  /**
   * A peer on a node tm cannot reach: its service runs the image the registry holds (pinned by
   * digest), `/config` a tmpfs there; its exit and last lines come from the manager.
   */
  async #startViaManager(launch: PeerLaunch, signal: AbortSignal): Promise<RunningPeer> {
    const { placement, env } = launch;
    const manager = this.#manager;
    const exits = this.#taskExits;
    const pushed = this.#pushed?.get(placement.image);
    if (!manager || !exits || !pushed) throw new Error("the swarm runtime is not set up");
    if (this.#tearingDown) throw new Error("the swarm runtime is tearing down");
    const database = this.#context?.database;
    const owner = { ...this.#owner, ...(database !== undefined ? { redis: database } : {}) };
    const spec: RunSpec = {
      image: placement.image,
      name: containerName(this.#options.config.name, placement.peer),
      labels: peerLabels(owner, placement.peer),
      ports: [{ host: placement.port, container: placement.port, protocol: "udp" }],
      env,
      volumes: [],
      addHosts: hostnameOf(env.REDIS_URL) === HOST_GATEWAY_NAME ? [HOST_GATEWAY_MAPPING] : [],
    };
    const launched = await this.#viaManagerStarts.run(() =>
      this.#withPullHint(
        manager.runService(spec, {
          nodeId: this.#cluster.nodeIds[placement.hostIndex],
          nodeAddress: this.#cluster.nodeAddresses[placement.hostIndex],
          imageId: pushed.pinned,
          configTmpfs: true,
        }, signal),
        pushed.pinned,
      )
    );
    this.#viaManager.set(placement.peer, launched.service);
    return {
      name: placement.peer,
      id: launched.id,
      exited: exits.expect(launched.service, placement.peer),
      ...(pushed.imageId !== undefined ? { imageId: pushed.imageId } : {}),
    };
  }

  /**
   * A task that ended before it ran, when its node was to pull `pinned` from the registry: the
   * error says what the node needs (the swarm's own reason, e.g. `No such image`, is kept).
   */
  async #withPullHint<T>(launch: Promise<T>, pinned: string | undefined): Promise<T> {
    try {
      return await launch;
    } catch (error) {
      if (!(error instanceof TaskFailedError) || pinned === undefined) throw error;
      throw new TaskFailedError(
        error.service,
        error.state,
        `${error.reason} (its node pulls ${pinned}: it must reach the registry, and a ` +
          "plain-HTTP registry must be in its engine's insecure-registries)",
      );
    }
  }

  teardown(options: TeardownOptions = {}): Promise<void> {
    if (options.force) this.#forced.abort();
    this.#tearingDown = true;
    const docker = this.#docker.teardown(options);
    this.#teardown ??= this.#teardownOnce(docker, options.emit ?? this.#emit, options);
    return this.#teardown;
  }

  /**
   * The output of the peers on nodes tm cannot reach, read from the manager (a few at a time)
   * before their services go; then their exits stop being watched.
   */
  async #collectViaManager(sink: RuntimeSink, options: TeardownOptions): Promise<void> {
    await Promise.allSettled([...this.#starts]);
    const manager = this.#manager;
    const collect = options.collectOutput;
    if (manager && collect && this.#viaManager.size > 0) {
      const forced = this.#forced.signal;
      await forEachConcurrently([...this.#viaManager], OUTPUT_READS_AT_ONCE, forced, async (
        [peer, service],
      ) => {
        try {
          await collect(peer, manager.engine.outputLines(service, forced, { of: "services" }));
        } catch (error) {
          sink({
            type: "warning",
            host: hostName(this.#cluster.swarm),
            message: `the output of ${peer} could not be read: ${errorMessage(error)}`,
          });
        }
      }).catch(() => {});
    }
    await this.#taskExits?.stop();
  }

  /**
   * After the Docker runtime's teardown (output collected, task containers removed): the output
   * of the peers watched through the manager, the services, the references tm pushed from.
   */
  async #teardownOnce(
    docker: Promise<void>,
    sink: RuntimeSink,
    options: TeardownOptions,
  ): Promise<void> {
    await docker;
    await this.#collectViaManager(sink, options);
    try {
      await this.#removeServices(sink);
    } finally {
      await this.#removePushedReferences(sink);
    }
  }

  /** The `<registry>/…` tags and digest references tm created on this machine's engine. */
  async #removePushedReferences(sink: RuntimeSink): Promise<void> {
    const local = this.#local;
    if (!local || !this.#pushed) return;
    try {
      const failed = await removePushedReferences(local, [...this.#pushed.values()]);
      for (const [reference, reason] of failed) {
        sink({
          type: "warning",
          message: `could not remove the reference ${reference} tm pushed from (${reason}): ` +
            `docker rmi ${reference}`,
        });
      }
    } catch (error) {
      sink({ type: "warning", message: `removing the pushed references: ${errorMessage(error)}` });
    } finally {
      local.close();
    }
  }

  /** This run's services, by label; what cannot be removed is reported `left-behind`. */
  async #removeServices(sink: RuntimeSink): Promise<void> {
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
