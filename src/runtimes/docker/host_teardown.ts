/**
 * Teardown on one host of the Docker runtime: its peers' output collected, its containers
 * removed (reconnecting once to a lost host; what stays is reported `left-behind`), its peer
 * config dirs collected and removed, and `remove_images` honoured.
 */
import { forEachConcurrently } from "../../base/async.ts";
import { errorMessage } from "../../base/errors.ts";
import type { ConfigCollector, OutputCollector, RuntimeSink } from "../../engine/runtime.ts";
import type { Config } from "../../plan/schema.ts";
import { HostLostError } from "../../transport/reconnecting_remote.ts";
import { RemoteError } from "../../transport/remote.ts";
import { LABELS } from "./container_names.ts";
import { type DockerHost, messageAbout } from "./docker_host.ts";
import { EngineApiError } from "./engine_api.ts";
import { collectConfigDirs, removeConfigDirs } from "./peer_config_dirs.ts";

/**
 * Containers whose output is streamed from one host at once at teardown (one Engine API socket
 * each, of the engine's MAX_SOCKETS): memory holds a chunk per stream, whatever the peer count.
 */
const OUTPUT_COLLECTS_PER_HOST = 8;

export interface HostTeardownOptions {
  config: Config;
  runId: string;
  /** The run's peer config dirs on the host, relative to its `$HOME`, with their peers. */
  dirs: { peer: string; dir: string }[];
  sink: RuntimeSink;
  collectOutput?: OutputCollector;
  collectConfig?: ConfigCollector;
  /** Aborted by a forced teardown: waits for a lost host end at once, collecting stops. */
  forced: AbortSignal;
  /**
   * Every container started on the host had exited before teardown began (its exit watcher was
   * idle): nothing writes to their config dirs any more. Default: false.
   */
  exited?: boolean;
}

/** Tears one host down (its exit watcher is already stopped): see the file's header. */
export async function tearDownHost(host: DockerHost, options: HostTeardownOptions): Promise<void> {
  const { config, sink, collectOutput, collectConfig, forced } = options;
  const dirs = options.dirs.map((d) => d.dir);
  const dirOptions = { shutdownMs: config.timeout.shutdown * 1_000, forced };
  if (options.exited && host.remote.connected) {
    // Every peer here ended already: its config dir is final, so it is collected and removed
    // while the output is collected and the containers removed (traced on the loaded test bed,
    // 20 peers: the archive and the removal of the dirs took 0.84 s after the last DELETE).
    const [reached] = await Promise.all([
      (async () => {
        if (collectOutput) await collectHostOutput(host, collectOutput, sink, forced);
        return await removeContainers(host, options);
      })(),
      (async () => {
        if (collectConfig) await collectConfigDirs(host, options.dirs, collectConfig, sink, forced);
        await removeConfigDirs(host, dirs, sink, dirOptions);
      })(),
    ]);
    if (!reached) return;
  } else if (collectConfig) {
    if (collectOutput) await collectHostOutput(host, collectOutput, sink, forced);
    if (!await removeContainers(host, options)) return;
    await collectConfigDirs(host, options.dirs, collectConfig, sink, forced);
    await removeConfigDirs(host, dirs, sink, dirOptions);
  } else {
    if (collectOutput) await collectHostOutput(host, collectOutput, sink, forced);
    const [reached] = await Promise.all([
      removeContainers(host, options),
      removeConfigDirs(host, dirs, sink, dirOptions),
    ]);
    if (!reached) return;
  }
  if (config.remove_images && config.images.length > 0) {
    const warn = (message: string) => sink({ type: "warning", message, host: host.name });
    try {
      // Bounded: an engine that does not answer (seen once on the loaded test machine: a
      // DELETE of an image left unanswered) must not hold the run's end forever.
      const bounded = AbortSignal.any([
        forced,
        AbortSignal.timeout(config.timeout.shutdown * 1_000),
      ]);
      const { failed } = await host.engine.removeImages(config.images, bounded);
      for (const [image, why] of failed) warn(`could not remove image ${image}: ${why}`);
    } catch (error) {
      warn(`could not remove images: ${messageAbout(host.name, error)}`);
    }
  }
}

/**
 * Streams each container's whole output on one host to `collect`, before the containers are
 * removed, OUTPUT_COLLECTS_PER_HOST containers at a time; `forced` cuts it short. A stream
 * that fails is a warning (what came before it is kept); removal goes on.
 */
async function collectHostOutput(
  host: DockerHost,
  collect: OutputCollector,
  sink: RuntimeSink,
  signal: AbortSignal,
): Promise<void> {
  const containers = [...host.peerOf];
  await forEachConcurrently(
    containers,
    OUTPUT_COLLECTS_PER_HOST,
    signal,
    async ([container, peer]) => {
      let failure: unknown;
      const engine = host.engine;
      // The exit's fetch got all of it: handed over again, not fetched again.
      const kept = await host.watcher?.takeKeptOutput(container);
      async function* lines() {
        if (kept) return yield* kept;
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

/**
 * Removes the run's peer containers on one host; a host that cannot be reached is reconnected
 * and tried once more, for up to `timeout.shutdown`. What cannot be removed is reported as `left-behind`.
 * @returns whether the host could be reached
 */
async function removeContainers(host: DockerHost, options: HostTeardownOptions): Promise<boolean> {
  const { config, runId, sink, forced } = options;
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

/** A failure to reach the host (not the engine's answer): worth a reconnection. */
function isTransportFailure(error: unknown): boolean {
  return error instanceof RemoteError ||
    (error instanceof EngineApiError && error.status === null);
}
