/**
 * `--reset-hosts` and `--reset-hosts-all`: connect to every host at once and, through its Engine
 * API, remove the config's `images` (missing ones are fine), or prune what `docker system prune
 * -af` does (the CLI asks for confirmation first). Starts no Redis and no peers; every
 * connection is closed at the end.
 */
import { type Config, type HostConfig, hostName } from "../../plan/schema.ts";
import { DockerEngine, engineSocketOf } from "./engine_api.ts";
import { formatBytes } from "../../text/quantities.ts";
import type { Remote } from "../../transport/remote.ts";
import { errorMessage } from "../../base/errors.ts";

/** What happened on one host. */
export interface HostResetResult {
  host: string;
  /** Images removed (`--reset-hosts`). */
  removed: string[];
  /** Images that were not there (`--reset-hosts`). */
  missing: string[];
  /** "Total reclaimed space: 1.2 GB", as docker says it (`--reset-hosts-all`). */
  reclaimed?: string;
  /** Why this host failed, if it did. */
  error?: string;
}

/** Some hosts could not be reset; the others were. */
export class ResetError extends Error {
  constructor(readonly results: HostResetResult[]) {
    const failed = results.filter((r) => r.error !== undefined);
    super(failed.map((r) => r.error).join("\n"));
    this.name = "ResetError";
  }
}

export interface ResetOptions {
  config: Pick<Config, "hosts" | "images">;
  /** Opens the connection to a host (the CLI passes SshRemote.connect). */
  connect: (host: HostConfig, index: number, signal: AbortSignal) => Promise<Remote>;
  /** true: prune as `docker system prune -af`; false: remove the config's `images`. */
  all: boolean;
  /** One line per step, e.g. "host-a: removed tm-peer:latest". Default: none. */
  print?: (line: string) => void;
  /** One line per Engine API call with its duration (`--verbose`). Default: none. */
  trace?: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * Resets every host, all at once.
 * @returns one result per host, in config order
 * @throws ResetError if any host failed (after trying all of them)
 */
export async function resetHosts(options: ResetOptions): Promise<HostResetResult[]> {
  const { config, connect, all } = options;
  const print = options.print ?? (() => {});
  const signal = options.signal ?? new AbortController().signal;
  const results = await Promise.all(config.hosts.map(async (hostConfig, index) => {
    const host = hostName(hostConfig);
    const result: HostResetResult = { host, removed: [], missing: [] };
    let remote: Remote | undefined;
    let engine: DockerEngine | undefined;
    try {
      const connected = remote = await connect(hostConfig, index, signal);
      const socket = await engineSocket(connected, signal);
      engine = new DockerEngine({
        host,
        dial: (dialSignal) => connected.dialSocket(socket, dialSignal),
        trace: options.trace,
      });
      if (all) {
        result.reclaimed = `Total reclaimed space: ${formatBytes(await engine.pruneAll(signal))}`;
        print(
          `${host}: pruned stopped containers, unused networks, images and build cache: ` +
            result.reclaimed,
        );
      } else {
        const { removed, missing, failed } = await engine.removeImages(config.images, signal);
        result.removed = removed;
        result.missing = missing;
        for (const image of removed) print(`${host}: removed ${image}`);
        for (const image of missing) print(`${host}: ${image} was not there`);
        if (failed.size > 0) {
          result.error = [...failed].map(([image, why]) =>
            `${host}: cannot remove ${image}: ${why}`
          )
            .join("\n");
        }
      }
    } catch (error) {
      const message = errorMessage(error);
      result.error = message.startsWith(`${host}:`) ? message : `${host}: ${message}`;
    } finally {
      engine?.close();
      await remote?.close().catch(() => {});
    }
    if (result.error) print(result.error);
    return result;
  }));
  signal.throwIfAborted();
  if (results.some((r) => r.error !== undefined)) throw new ResetError(results);
  return results;
}

/**
 * Where the host's engine listens: `$DOCKER_HOST` there, as its docker CLI reads it
 * (/var/run/docker.sock when unset).
 * @throws Error when it names no Unix socket
 */
async function engineSocket(remote: Remote, signal: AbortSignal): Promise<string> {
  const answer = await remote.execute(["sh", "-c", 'printf %s "$DOCKER_HOST"'], { signal });
  const socket = engineSocketOf(answer.stdout);
  if (answer.code !== 0 || socket === null) {
    throw new Error(
      `${remote.name}: DOCKER_HOST is ${answer.stdout || answer.stderr.trim()} there; tm ` +
        "reaches the engine through its Unix socket: unset DOCKER_HOST for the SSH user, or " +
        "set it to unix://<path>",
    );
  }
  return socket;
}
