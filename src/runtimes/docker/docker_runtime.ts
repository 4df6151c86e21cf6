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
 * `clearLeftovers` in host_preparation.ts) and start one `/events` watcher per host.
 * start: create and start a container (at most `startsPerHost` at once per host). An exit
 * reaches the engine through `RunningPeer.exited` as soon as the engine reports it, with the last
 * lines of its output. teardown: remove exactly this run's containers (by label), `remove_images`
 * if set, close the connections.
 *
 * A host whose connection drops mid-run is reconnected (`ReconnectingRemote`); its watcher
 * resumes from the last event it saw, so an exit during the outage is not missed. A host not
 * back within `timeout.startup` fails the run; cleanup tries it once more (for up to
 * `timeout.shutdown`) and reports the containers it could not remove as `left-behind`.
 *
 * The parts: `host_connection.ts` (connect, login, probe), `host_preparation.ts` (images,
 * leftovers, the exit watcher), `exit_watcher.ts`, `container_launches.ts` (create/start, per
 * host limiter), `host_teardown.ts` and `peer_config_dirs.ts` (output, config dirs, removal).
 */
import { describePeers } from "../../plan/peer_groups.ts";
import { plural } from "../../text/quantities.ts";
import type { Config } from "../../plan/schema.ts";
import type { UnstampedEvent } from "../../engine/events.ts";
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
import { currentOwner, type RunOwner } from "../../coordination/run_owner.ts";
import { containerName, type ContainerOwner } from "./container_names.ts";
import { DockerFaults } from "./docker_faults.ts";
import { DockerEngine } from "./engine_api.ts";
import { type Compression, pullImages, shipImages } from "./image_shipping.ts";
import { peerRedisUrl } from "./redis_address.ts";
import { errorMessage } from "../../base/errors.ts";
import type { DockerHost, HostFacts } from "./docker_host.ts";
import {
  connectHosts,
  type HostConnector,
  HostSetupError,
  probeHost,
  reportConnectionEvent,
} from "./host_connection.ts";
import {
  type ContainerLauncher,
  ContainerLaunches,
  DEFAULT_STARTS_PER_HOST,
} from "./container_launches.ts";
import { imageShipments, learnAdvertiseAddresses, prepareHost } from "./host_preparation.ts";
import { tearDownHost } from "./host_teardown.ts";
import { peerConfigDirs } from "./peer_config_dirs.ts";

export { type ContainerLauncher, DEFAULT_STARTS_PER_HOST } from "./container_launches.ts";
export { HostSetupError } from "./host_connection.ts";
export { configDir } from "./peer_config_dirs.ts";

export interface DockerRuntimeOptions {
  config: Config;
  plan: PlacedPeer[];
  /** Unique per run: containers carry it as the `tm.run` label. */
  runId: string;
  /** Who runs this run, for the labels. Default: this process (`currentOwner`). */
  owner?: RunOwner;
  /** Opens the connection to a host (the CLI passes SshRemote.connect). */
  connect: HostConnector;
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

export class DockerRuntime implements PeerRuntime {
  readonly kind = "docker";
  readonly #options: DockerRuntimeOptions;
  /** This machine's engine, made when setup first needs it (pull, export). */
  #local: DockerEngine | undefined;
  /** By host index; holes for hosts that failed to connect. */
  readonly #hosts: (DockerHost | undefined)[] = [];
  readonly #launches: ContainerLaunches;
  #emit: RuntimeSink = () => {};
  #fail: (reason: string) => void = () => {};
  /** Aborted by a forced teardown: cleanup's waits for a lost host end at once. */
  readonly #forced = new AbortController();
  #context: RuntimeContext | undefined;
  readonly #runOwner: RunOwner;
  #tearingDown = false;
  #teardown: Promise<void> | undefined;
  readonly faults: FaultControl;

  constructor(options: DockerRuntimeOptions) {
    this.#options = options;
    this.#local = options.localEngine;
    this.#runOwner = options.owner ?? currentOwner(options.runId, options.config.name);
    this.#launches = new ContainerLaunches({
      test: options.config.name,
      owner: () => this.#owner(),
      launcher: options.launch,
      tearingDown: () => this.#tearingDown,
    });
    this.faults = new DockerFaults({
      locate: (peer) => {
        const launched = this.#launches.of(peer);
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
      startAgain: (peer, signal) => this.#launches.startAgain(peer, signal),
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
    const { config, plan, runId } = this.#options;
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
      await connectHosts(this.#hosts, {
        config,
        plan,
        connect: this.#options.connect,
        startsPerHost: this.#options.startsPerHost ?? DEFAULT_STARTS_PER_HOST,
        send: emit,
        tearingDown: () => this.#tearingDown,
        onConnectionEvent: (name, event) =>
          reportConnectionEvent(name, event, {
            send: emit,
            // During cleanup, host_teardown.ts reports what this leaves behind.
            fail: (reason) => {
              if (!this.#tearingDown) this.#fail(reason);
            },
          }),
      }, signal);
      const { images, destinations } = await imageShipments(
        plan,
        this.#hosts,
        await pulling,
        local,
        signal,
      );
      const hosts = this.#connected();
      // The probe's questions and image shipping's are asked at once, each on a kept-alive
      // socket of the host's engine: one round trip before its first container starts (and
      // shipping has only the images that differ left to send).
      const probing = Promise.allSettled(
        hosts.map((host) =>
          probeHost(host, { config, peers: this.#peersOn(host), send: emit }, signal)
        ),
      );
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
      await learnAdvertiseAddresses(hosts, emit);
      const report = await shipping;
      await Promise.all(hosts.map((host, i) => {
        const facts = (probes[i] as PromiseFulfilledResult<HostFacts>).value;
        return prepareHost(host, facts, report, images, {
          config,
          runId,
          peers: this.#peersOn(host),
          logLines: this.#options.logLines ?? 50,
          leaseHolder: this.#context?.leaseHolder,
          send: emit,
          fail: (message) => {
            if (!this.#tearingDown) this.#fail(message);
          },
        }, signal);
      }));
    } catch (error) {
      failed.abort(error);
      await pulling.catch(() => {});
      throw error;
    }
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
    return this.#launches.start(this.#hosts[launch.placement.hostIndex], launch, signal);
  }

  teardown(options: TeardownOptions = {}): Promise<void> {
    if (options.force) this.#forced.abort();
    this.#teardown ??= this.#teardownOnce(options.emit ?? this.#emit, options);
    return this.#teardown;
  }

  async #teardownOnce(sink: RuntimeSink, options: TeardownOptions): Promise<void> {
    this.#tearingDown = true;
    const { config, runId } = this.#options;
    try {
      // A `docker run` in flight may still create a container: let it finish first.
      await this.#launches.settled();
      await Promise.all(
        this.#connected().map((host) => {
          // Every container here ended on its own before teardown: see HostTeardownOptions.
          const exited = host.watcher?.idle ?? true;
          // Exits from here on are ours (rm -f): pending peers resolve with code null.
          host.watcher?.stop();
          const recovered = host.watcher?.recoveredCodes ?? [];
          if (recovered.length > 0) {
            const peers = recovered.map((container) => ({
              name: host.peerOf.get(container) ?? container,
            }));
            sink({
              type: "warning",
              host: host.name,
              message:
                `the engine reported exit code 255 for ${plural(recovered.length, "peer")} whose ` +
                "entrypoint wrote another code to /config/exit-code just before it exited (an " +
                "engine that lost their exit status, as a heavily loaded one does): their exits " +
                `are the entrypoint's codes: ${describePeers(peers)}`,
            });
          }
          return tearDownHost(host, {
            config,
            runId,
            dirs: peerConfigDirs(config.name, this.#peersOn(host)),
            sink,
            collectOutput: options.collectOutput,
            collectConfig: options.collectConfig,
            forced: this.#forced.signal,
            exited,
          });
        }),
      );
    } catch (error) {
      sink({ type: "warning", message: `docker teardown: ${errorMessage(error)}` });
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

  #peersOn(host: DockerHost): PlacedPeer[] {
    const index = this.#hosts.indexOf(host);
    return this.#options.plan.filter((p) => p.hostIndex === index);
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

  #connected(): DockerHost[] {
    return this.#hosts.filter((host): host is DockerHost => host !== undefined);
  }
}

/** The port of a `redis://` URL (6379 when it has none, or cannot be read). */
function redisPortOf(url: string | undefined): number {
  try {
    return Number(new URL(url ?? "").port) || 6379;
  } catch {
    return 6379;
  }
}
