/**
 * `--reset-hosts` and `--reset-hosts-all`: connect to every host at once and remove the
 * config's `images` (missing ones are fine), or run `docker system prune -af` (the CLI asks for
 * confirmation first). Starts no Redis and no peers; every connection is closed at the end.
 */
import { type Config, type HostConfig, hostName } from "../../plan/schema.ts";
import { Docker } from "./docker.ts";
import type { Remote } from "../../transport/remote.ts";
import { errorMessage } from "../../base/errors.ts";

/** What happened on one host. */
export interface HostResetResult {
  host: string;
  /** Images removed (`--reset-hosts`). */
  removed: string[];
  /** Images that were not there (`--reset-hosts`). */
  missing: string[];
  /** docker's "Total reclaimed space" line (`--reset-hosts-all`). */
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
  /** true: `docker system prune -af`; false: remove the config's `images`. */
  all: boolean;
  /** One line per step, e.g. "host-a: removed tm-peer:latest". Default: none. */
  print?: (line: string) => void;
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
    try {
      remote = await connect(hostConfig, index, signal);
      const docker = new Docker(remote);
      if (all) {
        result.reclaimed = await docker.systemPrune(signal);
        print(`${host}: docker system prune -af: ${result.reclaimed}`);
      } else {
        const { removed, missing, failed } = await docker.rmi(config.images, signal);
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
      await remote?.close().catch(() => {});
    }
    if (result.error) print(result.error);
    return result;
  }));
  signal.throwIfAborted();
  if (results.some((r) => r.error !== undefined)) throw new ResetError(results);
  return results;
}
