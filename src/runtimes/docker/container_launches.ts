/**
 * The Docker runtime's container launches: each peer's container created and started on its
 * host (at most `startsPerHost` at once per host, the host's `limiter`), its exit expected from
 * the host's exit watcher, and a killed peer's container started again (`startAgain`).
 */
import { settledWithin } from "../../base/async.ts";
import type { PeerExit, PeerLaunch, RunningPeer } from "../../engine/runtime.ts";
import { containerName, type ContainerOwner, peerLabels } from "./container_names.ts";
import type { RunSpec } from "./docker.ts";
import type { DockerHost } from "./docker_host.ts";
import { configDir } from "./peer_config_dirs.ts";
import { HOST_GATEWAY_MAPPING, HOST_GATEWAY_NAME } from "./redis_address.ts";

/** Container starts in flight per host by default: as many as the engine launches at once. */
export const DEFAULT_STARTS_PER_HOST = 32;

/**
 * How long `start` after `kill` waits for the killed run's exit to be reported: a `die` event
 * and its output over the Engine API take a round trip or two.
 */
const EXIT_AFTER_KILL_MS = 10_000;

/**
 * Creates and starts one peer's container, as `spec` says, on host `hostIndex` (whose engine
 * holds the peer's image as `imageId`); resolves with the container's ID and name.
 */
export type ContainerLauncher = (
  request: { hostIndex: number; spec: RunSpec; imageId: string | undefined },
  signal: AbortSignal,
) => Promise<{ id: string; name: string }>;

/** A started container: `id` is its container ID. */
export interface DockerPeer extends RunningPeer {
  readonly id: string;
  readonly container: string;
}

/** A started peer's launch and host, for faults (`kill` then `start`). */
export interface LaunchedPeer {
  launch: PeerLaunch;
  host: DockerHost;
  container: string;
  id: string;
  /** The exit of the container's last run (a `start` waits for it). */
  exited: Promise<PeerExit>;
}

export interface ContainerLaunchesOptions {
  /** The test's name, for the container names. */
  test: string;
  /** This run's owner as the labels carry it. */
  owner: () => ContainerOwner;
  /** Creates and starts a container. Default: `docker run` on the host's engine. */
  launcher?: ContainerLauncher;
  /** Whether teardown began: no container starts after that. */
  tearingDown: () => boolean;
}

/** Every container this run started, and the starts still in flight. */
export class ContainerLaunches {
  readonly #options: ContainerLaunchesOptions;
  readonly #launched = new Map<string, LaunchedPeer>();
  readonly #starts = new Set<Promise<unknown>>();

  constructor(options: ContainerLaunchesOptions) {
    this.#options = options;
  }

  /** The peer's launch, if it was started. */
  of(peer: string): LaunchedPeer | undefined {
    return this.#launched.get(peer);
  }

  /** Resolves when every start in flight has settled (a `docker run` may still create one). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#starts]);
  }

  /** Creates and starts `launch`'s container on `host` (its placement's host, set up). */
  start(
    host: DockerHost | undefined,
    launch: PeerLaunch,
    signal: AbortSignal,
  ): Promise<DockerPeer> {
    const task = this.#start(host, launch, signal);
    this.#starts.add(task);
    task.catch(() => {}).finally(() => this.#starts.delete(task));
    return task;
  }

  async #start(
    host: DockerHost | undefined,
    launch: PeerLaunch,
    signal: AbortSignal,
  ): Promise<DockerPeer> {
    const { placement, env } = launch;
    if (!host?.watcher) throw new Error(`host ${placement.host} is not set up`);
    if (this.#options.tearingDown()) throw new Error("the docker runtime is tearing down");
    const named = containerName(this.#options.test, placement.peer);
    const watcher = host.watcher;
    const exited = watcher.expect(named);
    let container = named;
    try {
      const usesGateway = hostnameOf(env.REDIS_URL) === HOST_GATEWAY_NAME;
      const spec: RunSpec = {
        image: placement.image,
        name: named,
        labels: peerLabels(this.#options.owner(), placement.peer),
        ports: [{ host: placement.port, container: placement.port, protocol: "udp" }],
        env,
        volumes: [{ source: configDir(host.home, named), target: "/config" }],
        addHosts: usesGateway ? [HOST_GATEWAY_MAPPING] : [],
      };
      const launcher = this.#options.launcher;
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
  async startAgain(peer: string, signal: AbortSignal): Promise<DockerPeer> {
    const launched = this.#launched.get(peer);
    if (!launched) throw new Error(`${peer} was never started`);
    const { host, container, id, launch } = launched;
    if (!host.watcher) throw new Error(`host ${host.name} is not set up`);
    if (this.#options.tearingDown()) throw new Error("the docker runtime is tearing down");
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
}

/** The hostname of a URL (lowercase), or undefined when it is none. */
export function hostnameOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}
