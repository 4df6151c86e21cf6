/**
 * DockerRuntime: the PeerRuntime that runs each peer as a Docker container on the config's
 * hosts, reached through a `Remote` per host (SSH in the CLI, local in tests). Every Docker
 * operation goes through the host's Engine API (`engine_api.ts`, on channels of that one
 * connection to the engine's socket); what needs the host itself goes through its one long-lived
 * shell (`HostShell`). Image shipping speaks the Engine API too (`image_shipping.ts`): this
 * machine's engine exports, each host's loads.
 *
 * setup: connect every host at once (any failure stops the run before a container starts); the
 * shell's first answer (`$HOME`, `$DOCKER_HOST`, the config dirs created) and the API's (the
 * engine's version, negotiated; the peer images it holds; containers named or labelled like this
 * test's) come back together. Then ship the images that differ, check every peer image is on its
 * host, remove what dead runs of the same test left (a live run's is refused: see
 * `#clearLeftovers`) and start one `/events` watcher per host.
 * start: create and start a container (at most `startsPerHost` at once per host). An exit
 * reaches the engine through `RunningPeer.exited` as soon as the engine reports it, with the last
 * lines of its output. teardown: remove exactly this run's containers (by label), `remove_images`
 * if set, close the connections.
 *
 * A host whose connection drops mid-run is reconnected (`ReconnectingRemote`); its watcher
 * resumes from the last event it saw, so an exit during the outage is not missed. A host not
 * back within `timeout.startup` fails the run; cleanup tries it once more (for up to
 * `timeout.shutdown`) and reports the containers it could not remove as `left-behind`.
 */
import { forEachConcurrently, Limiter, settledWithin } from "../../base/async.ts";
import type { Config, HostConfig } from "../../plan/schema.ts";
import { hostEndpoint, hostName } from "../../plan/schema.ts";
import type { UnstampedEvent } from "../../engine/events.ts";
import type {
  ConfigCollector,
  FaultControl,
  OutputCollector,
  PeerExit,
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
  containerName,
  type ContainerOwner,
  LABELS,
  OWNER_LABEL_KEYS,
  ownerOfLabels,
  peerLabels,
  testSlug,
} from "./container_names.ts";
import { CoalescingRemote } from "../../transport/coalescing_remote.ts";
import { DockerFaults } from "./docker_faults.ts";
import { DockerEngine, EngineApiError, engineSocketOf } from "./engine_api.ts";
import { HostShell } from "../../transport/host_shell.ts";
import type { ContainerSummary, DockerEvent, ImageInfo, RunSpec } from "./docker.ts";
import { type Compression, pullImages, shipImages, type ShipReport } from "./image_shipping.ts";
import { LocalRemote } from "../../transport/local.ts";
import {
  type ConnectionEvent,
  HostLostError,
  ReconnectingRemote,
} from "../../transport/reconnecting_remote.ts";
import { HOST_GATEWAY_MAPPING, HOST_GATEWAY_NAME, peerRedisUrl } from "./redis_address.ts";
import { AdvertiseAddressError, advertiseAddresses } from "./advertise_address.ts";
import { type Remote, RemoteError } from "../../transport/remote.ts";
import { runLiveness } from "./run_liveness.ts";
import { CONFIG_ARCHIVE_SCRIPT, splitConfigArchive } from "./config_archives.ts";
import { TimedRemote } from "../../transport/timed_remote.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { errorMessage } from "../../base/errors.ts";

/** Container starts in flight per host by default: as many as the engine launches at once. */
export const DEFAULT_STARTS_PER_HOST = 32;
/**
 * Containers whose output is streamed from one host at once at teardown (one Engine API socket
 * each, of the engine's MAX_SOCKETS): memory holds a chunk per stream, whatever the peer count.
 */
const OUTPUT_COLLECTS_PER_HOST = 8;

/**
 * How long `start` after `kill` waits for the killed run's exit to be reported: a `die` event
 * and its output over the Engine API take a round trip or two.
 */
const EXIT_AFTER_KILL_MS = 10_000;

/** Setup failed on one or more hosts; each problem names its host. */
export class HostSetupError extends Error {
  constructor(readonly problems: { host: string; message: string }[]) {
    super(
      problems.length === 1
        ? problems[0].message
        : `${problems.length} hosts failed:\n${problems.map((p) => `  ${p.message}`).join("\n")}`,
    );
    this.name = "HostSetupError";
  }
}

export interface DockerRuntimeOptions {
  config: Config;
  plan: PlacedPeer[];
  /** Unique per run: containers carry it as the `tm.run` label. */
  runId: string;
  /** Who runs this run, for the labels. Default: this process (`currentOwner`). */
  owner?: RunOwner;
  /** Opens the connection to a host (the CLI passes SshRemote.connect). */
  connect: (host: HostConfig, index: number, signal: AbortSignal) => Promise<Remote>;
  /**
   * The engine on this machine (pull, export for shipping). Default: the one on the socket
   * `DOCKER_HOST` names here (`DockerEngine.local`).
   */
  localEngine?: DockerEngine;
  /** Image shipping compression. Default: image_shipping's DEFAULT_COMPRESSION. */
  compression?: Compression;
  /** Container starts in flight per host. Default: DEFAULT_STARTS_PER_HOST. */
  startsPerHost?: number;
  /** Lines of output kept in an exit report. Default: 50. */
  logLines?: number;
  /**
   * Creates and starts a peer's container on its host. Default: `docker run` on the host's
   * engine. The swarm runtime creates a service instead, whose task's container this is.
   */
  launch?: ContainerLauncher;
}

/**
 * Creates and starts one peer's container, as `spec` says, on host `hostIndex` (whose engine
 * holds the peer's image as `imageId`); resolves with the container's ID and name.
 */
export type ContainerLauncher = (
  request: { hostIndex: number; spec: RunSpec; imageId: string | undefined },
  signal: AbortSignal,
) => Promise<{ id: string; name: string }>;

/** One connected host. */
interface Host {
  name: string;
  config: HostConfig;
  remote: ReconnectingRemote;
  /** `remote` with the commands issued in one tick sent as one script; each one traced. */
  commands: Remote;
  /** The host's Engine API, on channels of `remote` to the engine's socket. */
  engine: DockerEngine;
  /** One long-lived shell on `remote`: `$HOME`, the config dirs, the network faults' tools. */
  shell: HostShell;
  /**
   * The host's first answer through `shell` (asked at connect): `$HOME` and `$DOCKER_HOST`
   * (where the engine's socket is), and the peer config dirs created.
   */
  login: Promise<{ home: string; socket: string }>;
  /** Containers started on the host, for the report when cleanup cannot reach it. */
  started: Set<string>;
  /** The peer of each container started, for `TeardownOptions.collectOutput`. */
  peerOf: Map<string, string>;
  /** How the host sees the orchestrator (`$SSH_CONNECTION`); null for this machine. */
  orchestratorAddress: string | null;
  /** `$HOME` on the host, for the peer config dirs. */
  home: string;
  /** Its peers' ADVERTISE_IP (`advertise_address.ts`), once setup probed every host. */
  advertiseIp?: string;
  limiter: Limiter;
  watcher?: ExitWatcher;
  /** ID of each of its peers' images on it, once setup checked they are there. */
  imageIds: Map<string, string>;
}

/** What a host's probe found, for `#prepareHost`. */
interface HostFacts {
  /** The host's copy of each of its peers' images; null where it has none. */
  images: Map<string, ImageInfo | null>;
  /** Containers named like this test's peers, with their `tm.test` label. */
  named: ContainerSummary[];
  /** Containers labelled with this test (any run), with their owner labels. */
  labelled: ContainerSummary[];
}

/** A started container: `id` is its container ID. */
interface DockerPeer extends RunningPeer {
  readonly id: string;
  readonly container: string;
}

export class DockerRuntime implements PeerRuntime {
  readonly kind = "docker";
  readonly #options: DockerRuntimeOptions;
  /** This machine's engine, made when setup first needs it (pull, export). */
  #local: DockerEngine | undefined;
  /** By host index; holes for hosts that failed to connect. */
  readonly #hosts: (Host | undefined)[] = [];
  readonly #starts = new Set<Promise<unknown>>();
  #emit: RuntimeSink = () => {};
  #fail: (reason: string) => void = () => {};
  /** Aborted by a forced teardown: cleanup's waits for a lost host end at once. */
  readonly #forced = new AbortController();
  #context: RuntimeContext | undefined;
  readonly #runOwner: RunOwner;
  #tearingDown = false;
  #teardown: Promise<void> | undefined;
  /** Each started peer's launch and host, for faults (`kill` then `start`). */
  readonly #launched = new Map<
    string,
    {
      launch: PeerLaunch;
      host: Host;
      container: string;
      id: string;
      /** The exit of the container's last run (a `start` waits for it). */
      exited: Promise<PeerExit>;
    }
  >();
  readonly faults: FaultControl;

  constructor(options: DockerRuntimeOptions) {
    this.#options = options;
    this.#local = options.localEngine;
    this.#runOwner = options.owner ?? currentOwner(options.runId, options.config.name);
    this.faults = new DockerFaults({
      locate: (peer) => {
        const launched = this.#launched.get(peer);
        if (!launched || !launched.host.remote.connected) return undefined;
        const { launch, host, container } = launched;
        return {
          peer,
          host: host.name,
          container,
          port: launch.placement.port,
          redisPort: redisPortOf(launch.env.REDIS_URL),
          advertised: launch.env.ADVERTISE_IP ?? null,
          engine: host.engine,
          shell: host.shell,
        };
      },
      hosts: () => new Map(this.#connected().map((host) => [host.name, host.shell])),
      startAgain: (peer, signal) => this.#startAgain(peer, signal),
      warn: (message, host) => this.#send({ type: "warning", message, host }),
    });
  }

  /** The container name of a peer in this test. */
  containerName(peer: string): string {
    return containerName(this.#options.config.name, peer);
  }

  async setup(context: RuntimeContext): Promise<void> {
    this.#emit = context.emit;
    this.#fail = context.fail ?? (() => {});
    this.#context = context;
    const emit = (event: UnstampedEvent) => this.#send(event);
    const { config } = this.#options;
    // Everything setup starts stops with it when one part fails.
    const failed = new AbortController();
    const signal = AbortSignal.any([context.signal, failed.signal]);

    this.#local ??= DockerEngine.local({
      trace: (message) => this.#send({ type: "trace", message }),
    });
    const local = this.#local;
    const pulling = pullImages({ images: config.images, local, emit, signal });
    pulling.catch(() => {}); // awaited below; a connect failure may come first
    try {
      await this.#connectAll(signal);
      const { images, destinations } = await this.#shipments(await pulling, signal);
      const hosts = this.#connected();
      // The probe's questions and image shipping's are asked at once, each on a kept-alive
      // socket of the host's engine: one round trip before its first container starts (and
      // shipping has only the images that differ left to send).
      const probing = Promise.allSettled(hosts.map((host) => this.#probe(host, signal)));
      const shipping = shipImages({
        images,
        destinations,
        local,
        targets: hosts.map((host) => ({ name: host.name, engine: host.engine })),
        emit,
        signal,
        compression: this.#options.compression,
      });
      shipping.catch(() => {}); // awaited below, unless a probe failed first
      const probes = await probing;
      signal.throwIfAborted();
      const problems = probes.flatMap((result, i) =>
        result.status === "rejected"
          ? [{ host: hosts[i].name, message: errorMessage(result.reason) }]
          : []
      );
      if (problems.length > 0) throw new HostSetupError(problems);
      await this.#learnAdvertiseAddresses(hosts);
      const report = await shipping;
      await Promise.all(hosts.map((host, i) => {
        const facts = (probes[i] as PromiseFulfilledResult<HostFacts>).value;
        return this.#prepareHost(host, facts, report, images, signal);
      }));
    } catch (error) {
      failed.abort(error);
      await pulling.catch(() => {});
      throw error;
    }
  }

  /**
   * What to ship where, by placement: each peer image goes to the hosts its peers are placed on,
   * whether or not `images` lists it (`images` is what is pulled first). A peer image that is not
   * on this machine is not shipped: `#prepareHost` then names it if a host lacks it.
   */
  async #shipments(
    pulled: Map<string, ImageInfo>,
    signal: AbortSignal,
  ): Promise<{ images: Map<string, ImageInfo>; destinations: Map<string, string[]> }> {
    const destinations = new Map<string, string[]>();
    for (const peer of this.#options.plan) {
      const host = this.#hosts[peer.hostIndex];
      if (!host) continue;
      const hosts = destinations.get(peer.image) ?? [];
      if (!hosts.includes(host.name)) hosts.push(host.name);
      destinations.set(peer.image, hosts);
    }
    const unlisted = [...destinations.keys()].filter((image) => !pulled.has(image));
    const local = unlisted.length > 0 ? await this.#local!.images(unlisted, signal) : new Map();
    const images = new Map<string, ImageInfo>();
    for (const image of destinations.keys()) {
      const info = pulled.get(image) ?? local.get(image);
      if (info) images.set(image, info);
    }
    return { images, destinations };
  }

  /**
   * Every host's ADVERTISE_IP, now that each told how it sees us (`advertise_address.ts`); one
   * that cannot be found fails setup, naming the host and the fix.
   */
  async #learnAdvertiseAddresses(hosts: Host[]): Promise<void> {
    let addresses: string[];
    try {
      addresses = await advertiseAddresses(
        hosts.map((host) => ({
          config: host.config,
          orchestratorAddress: host.orchestratorAddress,
        })),
      );
    } catch (error) {
      if (!(error instanceof AdvertiseAddressError)) throw error;
      throw new HostSetupError([{ host: error.host, message: error.message }]);
    }
    hosts.forEach((host, i) => {
      host.advertiseIp = addresses[i];
      this.#send({
        type: "trace",
        message: `${host.name}: its peers advertise ${addresses[i]} (ADVERTISE_IP)`,
      });
    });
  }

  advertiseIpFor(placement: PlacedPeer): string | undefined {
    return this.#hosts[placement.hostIndex]?.advertiseIp;
  }

  redisUrlFor(placement: PlacedPeer, orchestratorUrl: string): string {
    const host = this.#hosts[placement.hostIndex];
    if (!host) throw new Error(`host ${placement.host} is not connected (setup not done?)`);
    return peerRedisUrl(orchestratorUrl, {
      orchestratorAddress: host.orchestratorAddress,
      advertise: this.#options.config.redis.advertise,
    }).url;
  }

  start(launch: PeerLaunch, signal: AbortSignal): Promise<RunningPeer> {
    const task = this.#start(launch, signal);
    this.#starts.add(task);
    task.catch(() => {}).finally(() => this.#starts.delete(task));
    return task;
  }

  async #start(launch: PeerLaunch, signal: AbortSignal): Promise<DockerPeer> {
    const { placement, env } = launch;
    const host = this.#hosts[placement.hostIndex];
    if (!host?.watcher) throw new Error(`host ${placement.host} is not set up`);
    if (this.#tearingDown) throw new Error("the docker runtime is tearing down");
    const named = this.containerName(placement.peer);
    const watcher = host.watcher;
    const exited = watcher.expect(named);
    let container = named;
    try {
      const usesGateway = hostnameOf(env.REDIS_URL) === HOST_GATEWAY_NAME;
      const spec: RunSpec = {
        image: placement.image,
        name: named,
        labels: peerLabels(this.#owner(), placement.peer),
        ports: [{ host: placement.port, container: placement.port, protocol: "udp" }],
        env,
        volumes: [{ source: configDir(host.home, named), target: "/config" }],
        addHosts: usesGateway ? [HOST_GATEWAY_MAPPING] : [],
      };
      const launcher = this.#options.launch;
      const id = await host.limiter.run(async () => {
        if (!launcher) return await host.engine.run(spec, signal);
        const imageId = host.imageIds.get(placement.image);
        const launched = await launcher({ hostIndex: placement.hostIndex, spec, imageId }, signal);
        // Its exit is watched under the name the launcher's container got.
        watcher.rename(named, launched.name);
        container = launched.name;
        return launched.id;
      });
      host.started.add(container);
      host.peerOf.set(container, placement.peer);
      const imageId = host.imageIds.get(placement.image);
      this.#launched.set(placement.peer, { launch, host, container, id, exited });
      return {
        name: placement.peer,
        id,
        container,
        exited,
        ...(imageId !== undefined ? { imageId } : {}),
      };
    } catch (error) {
      watcher.forget(container);
      throw error;
    }
  }

  /**
   * `docker start` of a killed peer's container: the same name, environment, port and config
   * dir. Its exit is watched again, so the returned peer's `exited` reports the new run only.
   */
  async #startAgain(peer: string, signal: AbortSignal): Promise<DockerPeer> {
    const launched = this.#launched.get(peer);
    if (!launched) throw new Error(`${peer} was never started`);
    const { host, container, id, launch } = launched;
    if (!host.watcher) throw new Error(`host ${host.name} is not set up`);
    if (this.#tearingDown) throw new Error("the docker runtime is tearing down");
    // A second watch of a run still watched would leave its `exited` unresolved. After `kill`
    // the exit is on its way (docker's `die` event, then its output): wait for it, a while.
    if (!await settledWithin(launched.exited, EXIT_AFTER_KILL_MS, signal)) {
      throw new Error(`${peer} is still running: start follows kill`);
    }
    const watcher = host.watcher;
    const exited = watcher.expect(container);
    launched.exited = exited;
    try {
      await host.engine.start(container, signal);
      const imageId = host.imageIds.get(launch.placement.image);
      return { name: peer, id, container, exited, ...(imageId !== undefined ? { imageId } : {}) };
    } catch (error) {
      watcher.forget(container);
      throw error;
    }
  }

  teardown(options: TeardownOptions = {}): Promise<void> {
    if (options.force) this.#forced.abort();
    this.#teardown ??= this.#teardownOnce(
      options.emit ?? this.#emit,
      options.collectOutput,
      options.collectConfig,
    );
    return this.#teardown;
  }

  async #teardownOnce(
    sink: RuntimeSink,
    collectOutput?: OutputCollector,
    collectConfig?: ConfigCollector,
  ): Promise<void> {
    this.#tearingDown = true;
    const warn = (message: string, host?: string) =>
      sink({ type: "warning", message, ...(host ? { host } : {}) });
    try {
      // A `docker run` in flight may still create a container: let it finish first.
      await Promise.allSettled([...this.#starts]);
      const { config } = this.#options;
      await Promise.all(
        this.#connected().map(async (host) => {
          // Exits from here on are ours (rm -f): pending peers resolve with code null.
          host.watcher?.stop();
          if (collectOutput) await this.#collectOutput(host, collectOutput, sink);
          if (collectConfig) {
            if (!await this.#removeContainers(host, sink)) return;
            await this.#collectConfigDirs(host, collectConfig, sink);
            await this.#removeConfigDirs(host, sink);
          } else {
            // Issued in one tick: one script removes the containers, then their config dirs.
            const [reached] = await Promise.all([
              this.#removeContainers(host, sink),
              this.#removeConfigDirs(host, sink),
            ]);
            if (!reached) return;
          }
          if (config.remove_images && config.images.length > 0) {
            try {
              // Bounded: an engine that does not answer (seen once on the loaded test machine: a
              // DELETE of an image left unanswered) must not hold the run's end forever.
              const bounded = AbortSignal.any([
                this.#forced.signal,
                AbortSignal.timeout(config.timeout.shutdown * 1_000),
              ]);
              const { failed } = await host.engine.removeImages(config.images, bounded);
              for (const [image, why] of failed) {
                warn(`could not remove image ${image}: ${why}`, host.name);
              }
            } catch (error) {
              warn(`could not remove images: ${messageAbout(host.name, error)}`, host.name);
            }
          }
        }),
      );
    } catch (error) {
      warn(`docker teardown: ${errorMessage(error)}`);
    } finally {
      this.#local?.close();
      await Promise.all(this.#hosts.map(async (host) => {
        host?.watcher?.stop();
        host?.engine.close();
        await host?.shell.close().catch(() => {});
        await host?.remote.close().catch(() => {});
      }));
    }
  }

  /**
   * Streams each container's whole output on one host to `collect`, before the containers are
   * removed, OUTPUT_COLLECTS_PER_HOST containers at a time; a forced teardown cuts it short. A
   * stream that fails is a warning (what came before it is kept); removal goes on.
   */
  async #collectOutput(host: Host, collect: OutputCollector, sink: RuntimeSink): Promise<void> {
    const signal = this.#forced.signal;
    const containers = [...host.peerOf];
    await forEachConcurrently(
      containers,
      OUTPUT_COLLECTS_PER_HOST,
      signal,
      async ([container, peer]) => {
        let failure: unknown;
        const engine = host.engine;
        async function* lines() {
          try {
            yield* engine.outputLines(container, signal);
          } catch (error) {
            failure = error;
          }
        }
        await collect(peer, lines());
        if (failure === undefined || signal.aborted) return;
        sink({
          type: "warning",
          host: host.name,
          peer,
          message: `could not collect the output of ${container}: ${errorMessage(failure)}`,
        });
      },
    ).catch(() => {/* a forced teardown stops collecting */});
  }

  /** The run's peer config dirs on one host, relative to its `$HOME`, with their peers. */
  #configDirs(host: Host): { peer: string; dir: string }[] {
    return this.#peersOn(host).map((p) => ({
      peer: p.peer,
      dir: configDirInHome(this.containerName(p.peer)),
    }));
  }

  /**
   * Hands each peer config dir on one host to `collect`, once its containers are gone, as a tar
   * stream of its regular files and directories under one top-level directory (a peer's
   * symlinks, FIFOs and devices are left out). One command per host archives them all, split
   * per peer as it streams (config_archives.ts): one channel, whatever the peer count. A peer
   * whose container never started has no dir and is skipped. A forced teardown stops collecting.
   */
  async #collectConfigDirs(host: Host, collect: ConfigCollector, sink: RuntimeSink): Promise<void> {
    const forced = this.#forced.signal;
    if (forced.aborted) return;
    // Only peers whose container was created: a never-started peer's dir is empty.
    const started = new Set(host.peerOf.values());
    const peerOfDir = new Map(
      this.#configDirs(host).filter(({ peer }) => started.has(peer))
        .map(({ peer, dir }) => [dir.replace(/^peer-config\//, ""), peer]),
    );
    if (peerOfDir.size === 0) return;
    const child = host.remote.spawn(["sh", "-c", CONFIG_ARCHIVE_SCRIPT], { signal: forced });
    const errors = new Response(child.stderr).text().catch(() => "");
    try {
      const names = new TextEncoder().encode([...peerOfDir.keys()].join("\n") + "\n");
      const input = child.stdin.getWriter();
      await input.write(names);
      await input.close();
      await splitConfigArchive(child.stdout, peerOfDir, collect, forced);
      const { code } = await child.status;
      if (code !== 0 && !forced.aborted) {
        throw new Error((await errors).trim().split("\n").at(-1) || `exit ${code}`);
      }
    } catch (error) {
      if (!forced.aborted) sink(configDirsWarning(host.name, "collect", error));
    } finally {
      child.kill();
    }
  }

  /** Removes the run's peer config dirs on one host in one command: none outlives the run. */
  async #removeConfigDirs(host: Host, sink: RuntimeSink): Promise<void> {
    const dirs = this.#configDirs(host).map((d) => d.dir);
    if (dirs.length === 0) return;
    // The login that creates them may still be on its way when setup failed on another host
    // first: removing before it lands left them behind (the runtime test of an unreachable host).
    await settledWithin(
      host.login,
      this.#options.config.timeout.shutdown * 1_000,
      this.#forced.signal,
    );
    try {
      const removed = await host.commands.execute([
        "sh",
        "-c",
        'cd && rm -rf -- "$@"',
        "sh",
        ...dirs,
      ]);
      if (removed.code !== 0) throw new Error(removed.stderr.trim() || `exit ${removed.code}`);
    } catch (error) {
      sink(configDirsWarning(host.name, "remove", error));
    }
  }

  /**
   * Removes the run's peer containers on one host; a host that cannot be reached is reconnected
   * and tried once more, for up to `timeout.shutdown`. What cannot be removed is reported as `left-behind`.
   * @returns whether the host could be reached
   */
  async #removeContainers(host: Host, sink: RuntimeSink): Promise<boolean> {
    const { config, runId } = this.#options;
    const forced = this.#forced.signal;
    const remove = async () => {
      // A second interrupt cuts short the wait for a lost host, never a `docker rm` under way.
      const signal = host.remote.connected ? undefined : forced;
      // Peers only: the run's Redis container (same run label) may be on this engine, and the
      // engine stops it last, after closing its connections.
      await host.engine.removeLabelled([`${LABELS.run}=${runId}`, `${LABELS.role}=peer`], {
        signal,
      });
    };
    let failure: unknown;
    try {
      await remove();
      return true;
    } catch (error) {
      failure = error;
    }
    // A transport failure (the host lost for good, or the connection dropped during cleanup):
    // reconnect and try once more.
    if (isTransportFailure(failure) && !forced.aborted) {
      const withinMs = config.timeout.shutdown * 1_000;
      sink({
        type: "warning",
        host: host.name,
        message: `reconnecting to remove this run's containers (for up to ${withinMs / 1_000} s)`,
      });
      try {
        await host.remote.reconnect(withinMs, forced);
        await remove();
        return true;
      } catch (error) {
        failure = error;
      }
    }
    const reachable = !(failure instanceof HostLostError) && !forced.aborted;
    const reason = forced.aborted
      ? "cleanup was cut short (second interrupt)"
      : messageAbout(host.name, failure);
    if (host.started.size === 0) {
      sink({
        type: "warning",
        host: host.name,
        message: `could not check for this run's containers: ${reason}`,
      });
    } else {
      sink({
        type: "left-behind",
        host: host.name,
        containers: [...host.started].sort(),
        reason,
      });
    }
    return reachable;
  }

  /** Reports what happens to a host's connection; a host lost for good fails the run. */
  #onConnectionEvent(name: string, event: ConnectionEvent): void {
    switch (event.type) {
      case "lost":
        this.#send({
          type: "host-lost",
          host: name,
          reason: event.error.message.replace(`${name}: `, ""),
          giveUpMs: event.giveUpAfterMs,
        });
        break;
      case "attempt-failed":
        this.#send({
          type: "trace",
          level: "debug",
          message: `${name}: reconnection attempt ${event.attempt} failed: ${
            errorMessage(event.error)
          }; next in ${event.nextDelayMs} ms`,
        });
        break;
      case "restored":
        this.#send({
          type: "host-reconnected",
          host: name,
          outageMs: Math.round(event.outageMs),
          attempts: event.attempts,
        });
        break;
      case "gave-up":
        // During cleanup, #removeContainers reports what this leaves behind.
        if (!this.#tearingDown) {
          this.#fail(`host ${name} lost: ${event.error.message.replace(`${name}: `, "")}`);
        }
        break;
    }
  }

  /** This run's owner as the labels carry it: with the Redis database, once leased. */
  #owner(): ContainerOwner {
    const database = this.#context?.database;
    return {
      ...this.#runOwner,
      ...(database !== undefined ? { redis: database } : {}),
    };
  }

  /** Sends an event to the engine, which stamps it. */
  #send(event: UnstampedEvent): void {
    this.#emit(event);
  }

  #connected(): Host[] {
    return this.#hosts.filter((host): host is Host => host !== undefined);
  }

  /** Connects every host at once; fails naming every host that could not be reached. */
  async #connectAll(signal: AbortSignal): Promise<void> {
    const { config, connect } = this.#options;
    const perHost = this.#options.startsPerHost ?? DEFAULT_STARTS_PER_HOST;
    const results = await Promise.allSettled(config.hosts.map(async (hostConfig, index) => {
      const name = hostName(hostConfig);
      const address = hostEndpoint(hostConfig);
      this.#send({ type: "host-connecting", host: name, address });
      const started = performance.now();
      const first = await connect(hostConfig, index, signal);
      if (this.#tearingDown) {
        await first.close();
        throw new Error(`${name}: connected after teardown began`);
      }
      // Reconnections outlive setup's signal: cleanup needs the host too.
      const remote = new ReconnectingRemote(first, {
        connect: (attempt) => connect(hostConfig, index, attempt),
        giveUpAfterMs: config.timeout.startup * 1_000,
        onEvent: (event) => this.#onConnectionEvent(name, event),
      });
      const trace = (message: string) => this.#send({ type: "trace", message });
      // This machine's commands start as plain processes, with no login shell to save: they
      // are not coalesced (measured: 50 launches through one script were ~1.2-1.6× slower than
      // as processes, bench/start_containers_bench.ts).
      const coalesced = first instanceof LocalRemote ? remote : new CoalescingRemote(remote, {
        onBatch: (argvs) =>
          trace(
            `${name}: ${argvs.length} commands in one script: ${
              argvs.map((argv) => argv.slice(0, 2).join(" ")).join(", ")
            }`,
          ),
      });
      const commands = new TimedRemote(coalesced, trace);
      const shell = new HostShell(remote, { trace });
      const dirs = this.#options.plan.filter((p) => p.hostIndex === index)
        .map((p) => configDirInHome(this.containerName(p.peer)));
      const login = askLogin(shell, dirs);
      login.catch(() => {}); // awaited by the probe
      this.#hosts[index] = {
        name,
        config: hostConfig,
        remote,
        started: new Set(),
        peerOf: new Map(),
        commands,
        shell,
        login,
        engine: new DockerEngine({
          host: name,
          dial: async (signal) => remote.dialSocket((await login).socket, signal),
          trace,
        }),
        orchestratorAddress: null,
        home: "",
        limiter: new Limiter(perHost),
        imageIds: new Map(),
      };
      this.#send({
        type: "host-connected",
        host: name,
        address,
        ms: Math.round(performance.now() - started),
      });
    }));
    signal.throwIfAborted();
    const problems = results.flatMap((result, index) => {
      if (result.status === "fulfilled") return [];
      const name = hostName(config.hosts[index]);
      const message = errorMessage(result.reason);
      return [{
        host: name,
        message: message.startsWith(`${name}:`) ? message : `${name}: ${message}`,
      }];
    });
    if (problems.length > 0) throw new HostSetupError(problems);
  }

  /**
   * What setup needs to know of a host, in one round trip (the commands are issued in one tick,
   * so its CoalescingRemote sends them as one script): Docker works, how the host sees us, its
   * home directory, which of its peers' images it holds, the containers named or labelled like
   * this test's (for `#clearLeftovers`); and the peer config dirs are created (relative to the
   * login directory, `$HOME`).
   */
  async #probe(host: Host, signal: AbortSignal): Promise<HostFacts> {
    const { config } = this.#options;
    const peers = this.#peersOn(host);
    const images = [...new Set(peers.map((p) => p.image))];
    const prefix = `^/?tm-${escapeRegExp(testSlug(config.name))}--`;
    const [login, version, address, present, named, labelled] = await Promise.all([
      host.login,
      host.engine.version(signal),
      host.remote.orchestratorAddress(),
      host.engine.images(images, signal),
      peers.length === 0
        ? []
        : host.engine.containers({ names: [prefix] }, { labelKeys: [LABELS.test], signal }),
      peers.length === 0 ? [] : host.engine.containers(
        { labels: [`${LABELS.test}=${config.name}`] },
        { labelKeys: OWNER_LABEL_KEYS, signal },
      ),
    ]);
    this.#send({ type: "host-ready", host: host.name, docker: version.engine });
    this.#send({
      type: "trace",
      message:
        `${host.name}: Docker ${version.engine}, Engine API ${version.api} at ${login.socket}`,
    });
    host.orchestratorAddress = address;
    host.home = login.home;
    return { images: present, named, labelled };
  }

  #peersOn(host: Host): PlacedPeer[] {
    const index = this.#hosts.indexOf(host);
    return this.#options.plan.filter((p) => p.hostIndex === index);
  }

  /**
   * Checks the peer images are there (the probe found them or shipping brought them), clears
   * leftovers and starts the exit watcher. One host.
   */
  async #prepareHost(
    host: Host,
    facts: HostFacts,
    shipped: ShipReport,
    local: Map<string, ImageInfo>,
    signal: AbortSignal,
  ): Promise<void> {
    const { runId } = this.#options;
    const peers = this.#peersOn(host);
    const images = [...new Set(peers.map((p) => p.image))];
    for (const image of images) {
      // A shipped image replaced the host's copy and keeps its ID (`docker load`): this
      // machine's copy names it. Otherwise the host runs the copy the probe found.
      const wasShipped = shipped.shipped.some((s) => s.image === image && s.host === host.name);
      const id = wasShipped ? local.get(image)?.id : facts.images.get(image)?.id;
      if (id !== undefined) host.imageIds.set(image, id);
    }
    const absent = images.filter((image) =>
      facts.images.get(image) == null &&
      !shipped.shipped.some((s) => s.image === image && s.host === host.name)
    );
    if (absent.length > 0) {
      const them = absent.length > 1 ? "them" : "it";
      throw new HostSetupError([{
        host: host.name,
        message: `${host.name}: image${absent.length > 1 ? "s" : ""} ${absent.join(", ")} ` +
          `on neither this machine nor the host; build ${them} here (tm ships ${them}), ` +
          `list ${them} under \`images\` so tm pulls ${them}, or build ${them} on the host`,
      }]);
    }
    if (peers.length === 0) return;

    await this.#clearLeftovers(host, peers, facts, signal);

    host.watcher = new ExitWatcher(host, runId, {
      logLines: this.#options.logLines ?? 50,
      fail: (message) => {
        if (!this.#tearingDown) this.#fail(`${host.name}: ${message}`);
      },
    });
    host.watcher.start();
  }

  /**
   * Leftovers on one host. This test's containers (by the `tm.test` label, never by name
   * alone) whose run is dead are removed with a warning; those of a live run, or of a run whose
   * liveness cannot be told, are left alone and fail the setup naming the run: two runs of one
   * test cannot share a host (names and ports clash). A container holding one of our names
   * without this test's label is not ours to touch either.
   */
  async #clearLeftovers(
    host: Host,
    peers: PlacedPeer[],
    facts: HostFacts,
    signal: AbortSignal,
  ): Promise<void> {
    const { config, runId } = this.#options;
    const names = new Set(peers.map((p) => this.containerName(p.peer)));
    const { named, labelled } = facts;
    const foreign = named.filter((c) => names.has(c.name) && c.labels[LABELS.test] !== config.name);
    if (foreign.length > 0) {
      const list = foreign.map((c) => c.name).join(", ");
      const many = foreign.length > 1;
      throw new HostSetupError([{
        host: host.name,
        message: `${host.name}: container${many ? "s" : ""} ${list} exist${many ? "" : "s"} ` +
          `and tm did not start ${many ? "them" : "it"} for this test; remove ${
            many ? "them" : "it"
          } or rename the test`,
      }]);
    }
    const byRun = Map.groupBy(
      labelled.filter((c) =>
        c.labels[LABELS.test] === config.name && c.labels[LABELS.run] !== runId
      ),
      (c) => c.labels[LABELS.run] ?? "",
    );
    const problems: string[] = [];
    for (const [run, containers] of byRun) {
      const owner = ownerOfLabels(containers[0].labels) ??
        { runId: run, test: config.name, hostname: "", machine: "", pid: 0, process: "" };
      const list = containers.map((c) => c.name).join(", ");
      const liveness = await runLiveness(owner, this.#context?.leaseHolder);
      if (liveness === "dead") {
        this.#send({
          type: "warning",
          host: host.name,
          message: `removing ${containers.length} container${
            containers.length > 1 ? "s" : ""
          } left by run ${run} of this test, which is no longer running (${list})`,
        });
        await host.engine.remove(containers.map((c) => c.id), { force: true, signal });
      } else if (liveness === "alive") {
        problems.push(
          `${host.name}: ${describeOwner(owner)} is still running here (${list}): two runs of ` +
            `one test cannot share a host; wait for it to end, or stop it`,
        );
      } else {
        problems.push(
          `${host.name}: ${list} ${containers.length > 1 ? "were" : "was"} left by ${
            describeOwner(owner)
          }, and tm cannot tell whether that run still goes on (it ran on another machine${
            owner.redis ? ` and reports to ${owner.redis}` : ""
          }): if it is over, remove them (docker rm -f ${containers.map((c) => c.name).join(" ")})`,
        );
      }
    }
    if (problems.length > 0) {
      throw new HostSetupError(problems.map((message) => ({ host: host.name, message })));
    }
  }
}

/**
 * An error's message for an event that already names `host` (views put the event's host first):
 * without the `<host>: ` that DockerError and RemoteError start with, which would say it twice.
 */
function messageAbout(host: string, error: unknown): string {
  const message = errorMessage(error);
  return message.startsWith(`${host}: `) ? message.slice(host.length + 2) : message;
}

/** `~/peer-config/<container>-config` on the host, mounted at `/config` (docs/architecture.md). */
export function configDir(home: string, container: string): string {
  return `${home.replace(/\/+$/, "")}/${configDirInHome(container)}`;
}

/** A peer's config dir relative to the home directory. */
function configDirInHome(container: string): string {
  return `peer-config/${container}-config`;
}

/**
 * One `/events` stream per host (Engine API) for this run's `die` events: each resolves the exit
 * promise of its container with the exit code and the last lines of its output. A broken
 * stream is resubscribed from the last event it saw (docker replays buffered events); after a
 * lost connection it waits for the reconnection, then also re-checks the run's containers, so an
 * exit during the outage is reported even if docker's event buffer no longer holds it.
 */
class ExitWatcher {
  readonly #pending = new Map<string, (exit: PeerExit) => void>();
  /**
   * The time of each container's last `die`: a resubscribed stream replays from the last event
   * seen, which must not end a container started again since (`kill`, then `start`).
   */
  readonly #lastDie = new Map<string, number>();
  readonly #stopped = new AbortController();
  /** `die`s of containers not (yet) expected: a launcher's container may die before it is named. */
  readonly #unclaimed = new Map<string, { ref: string; code: number | null }>();
  #since = "1"; // this run's label is unique: replaying from the start only returns ours

  constructor(
    readonly host: Host,
    readonly runId: string,
    readonly options: {
      logLines: number;
      /** Exits can no longer be watched (the stream keeps failing on a live connection). */
      fail: (message: string) => void;
    },
  ) {}

  /** A promise resolved when `container` dies (or with code null when the watcher stops). */
  expect(container: string): Promise<PeerExit> {
    return new Promise((resolve) => this.#pending.set(container, resolve));
  }

  /**
   * The container expected as `from` is called `to` (a launcher named it): watch it by that
   * name; a `die` of it seen already resolves it now.
   */
  rename(from: string, to: string): void {
    const resolve = this.#pending.get(from);
    if (!resolve || from === to) return;
    this.#pending.delete(from);
    this.#pending.set(to, resolve);
    const died = this.#unclaimed.get(to);
    if (died) this.#resolve(to, died.ref, died.code);
  }

  /** The container never started: stop expecting it. */
  forget(container: string): void {
    this.#pending.get(container)?.({ code: null, output: [] });
    this.#pending.delete(container);
  }

  start(): void {
    void this.#watch();
  }

  /** Stops watching; pending exits resolve with code null (the runtime removed them). */
  stop(): void {
    this.#stopped.abort();
    for (const resolve of this.#pending.values()) resolve({ code: null, output: [] });
    this.#pending.clear();
  }

  async #watch(): Promise<void> {
    const signal = this.#stopped.signal;
    const remote = this.host.remote;
    let generation = remote.generation;
    let failures = 0; // consecutive broken streams on the same, live connection
    while (!signal.aborted) {
      try {
        // During an outage: wait for the reconnection. Given up: the runtime fails the run.
        await remote.ready(signal);
      } catch {
        return;
      }
      const resumed = remote.generation !== generation;
      generation = remote.generation;
      if (resumed) failures = 0;
      const stream = new AbortController();
      try {
        const events = this.host.engine.events([
          `label=${LABELS.run}=${this.runId}`,
          "type=container",
          "event=die",
        ], { since: this.#since, signal: AbortSignal.any([signal, stream.signal]) });
        if (resumed) void this.#recheck(signal);
        for await (const event of events) this.#onDie(event);
      } catch {
        // the stream broke (or could not start); resubscribe below
      } finally {
        stream.abort();
      }
      if (signal.aborted) return;
      if (!remote.connected || remote.generation !== generation) continue;
      if (++failures > 5) {
        this.options.fail(
          "the `docker events` stream keeps failing: container exits are not watched",
        );
        return;
      }
      // Back off, but never past the end of the run.
      await sleep(200 * failures, undefined, { signal }).catch(() => {});
    }
  }

  /** After a reconnection: resolves pending containers that are no longer running. */
  async #recheck(signal: AbortSignal): Promise<void> {
    if (this.#pending.size === 0) return;
    try {
      const found = await this.host.engine.containers(
        { labels: [`${LABELS.run}=${this.runId}`, `${LABELS.role}=peer`] },
        { signal },
      );
      const byName = new Map(found.map((c) => [c.name, c]));
      for (const container of [...this.#pending.keys()]) {
        const state = byName.get(container)?.state;
        if (state === "running" || state === "restarting" || state === "created") continue;
        const code = state === undefined ? null : await this.#exitCode(container, signal);
        this.#resolve(container, container, code);
      }
    } catch {
      // the stream's replay still reports what docker buffered
    }
  }

  async #exitCode(container: string, signal: AbortSignal): Promise<number | null> {
    try {
      return (await this.host.engine.inspect(container, signal)).exitCode;
    } catch {
      return null;
    }
  }

  #onDie(event: DockerEvent): void {
    const name = event.attributes.name;
    if (event.timeNano > 0) {
      if ((this.#lastDie.get(name) ?? 0) >= event.timeNano) return;
      this.#lastDie.set(name, event.timeNano);
      const seconds = Math.floor(event.timeNano / 1e9);
      this.#since = `${seconds}.${String(event.timeNano % 1e9).padStart(9, "0")}`;
    }
    const raw = Number(event.attributes.exitCode);
    this.#resolve(
      event.attributes.name,
      event.id || event.attributes.name,
      Number.isInteger(raw) ? raw : null,
    );
  }

  /** Reports a pending container's exit once, with the last lines of its logs. */
  #resolve(container: string, ref: string, code: number | null): void {
    const resolve = this.#pending.get(container);
    if (!resolve) {
      if (!this.#stopped.signal.aborted) this.#unclaimed.set(container, { ref, code });
      return;
    }
    this.#pending.delete(container);
    this.#unclaimed.delete(container);
    this.host.engine.timestampedLogs(ref, this.options.logLines)
      .catch((error) => [{ at: "", text: `(docker logs failed: ${errorMessage(error)})` }])
      .then((lines) =>
        resolve({ code, output: lines.map((l) => l.text), outputAt: lines.map((l) => l.at) })
      );
  }
}

/** The warning for a host whose peer config dirs could not be collected or removed. */
function configDirsWarning(
  host: string,
  what: "collect" | "remove",
  error: unknown,
): UnstampedEvent {
  return {
    type: "warning",
    host,
    message: `could not ${what} the peer config dirs under ~/peer-config: ${
      messageAbout(host, error)
    }`,
  };
}

/** The port of a `redis://` URL (6379 when it has none, or cannot be read). */
function redisPortOf(url: string | undefined): number {
  try {
    return Number(new URL(url ?? "").port) || 6379;
  } catch {
    return 6379;
  }
}

function hostnameOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The host's first answer through its shell: `$HOME`, where its engine's socket is
 * (`$DOCKER_HOST`, as the docker CLI reads it there; /var/run/docker.sock when unset), and the
 * peer config dirs created (relative to the login directory, `$HOME`). One command, one round
 * trip; the Engine API's first request waits for it.
 */
async function askLogin(
  shell: HostShell,
  dirs: string[],
): Promise<{ home: string; socket: string }> {
  const result = await shell.execute([
    "sh",
    "-c",
    'printf "%s\\n%s\\n" "$HOME" "$DOCKER_HOST"; [ $# -eq 0 ] || { cd && mkdir -p -- "$@"; }',
    "sh",
    ...dirs,
  ]);
  const [home = "", dockerHost = ""] = result.stdout.split("\n");
  if (!home.startsWith("/")) {
    throw new Error(`${shell.name}: could not read $HOME (${result.stderr.trim() || "empty"})`);
  }
  if (result.code !== 0) {
    throw new Error(
      `${shell.name}: could not create the peer config dirs: ${result.stderr.trim()}`,
    );
  }
  const socket = engineSocketOf(dockerHost);
  if (socket === null) {
    throw new Error(
      `${shell.name}: DOCKER_HOST is ${dockerHost} there; tm reaches the engine through its ` +
        "Unix socket: unset DOCKER_HOST for the SSH user, or set it to unix://<path>",
    );
  }
  return { home, socket };
}

/** A failure to reach the host (not the engine's answer): worth a reconnection. */
function isTransportFailure(error: unknown): boolean {
  return error instanceof RemoteError ||
    (error instanceof EngineApiError && error.status === null);
}
