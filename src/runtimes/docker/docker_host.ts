/**
 * DockerHost: one host the Docker runtime reached, as the runtime's parts share it (connection,
 * launches, exit watcher, teardown): its connection, Engine API, shell and what setup learned.
 */
import type { Limiter } from "../../base/async.ts";
import { errorMessage } from "../../base/errors.ts";
import type { HostConfig } from "../../plan/schema.ts";
import type { Remote } from "../../transport/remote.ts";
import type { ReconnectingRemote } from "../../transport/reconnecting_remote.ts";
import type { HostShell } from "../../transport/host_shell.ts";
import type { DockerEngine } from "./engine_api.ts";
import type { ContainerSummary, ImageInfo } from "./docker.ts";
import type { ExitWatcher } from "./exit_watcher.ts";

/** One connected host. */
export interface DockerHost {
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

/** What a host's probe found, for `prepareHost`. */
export interface HostFacts {
  /** The host's copy of each of its peers' images; null where it has none. */
  images: Map<string, ImageInfo | null>;
  /** Containers named like this test's peers, with their `tm.test` label. */
  named: ContainerSummary[];
  /** Containers labelled with this test (any run), with their owner labels. */
  labelled: ContainerSummary[];
}

/**
 * An error's message for an event that already names `host` (views put the event's host first):
 * without the `<host>: ` that DockerError and RemoteError start with, which would say it twice.
 */
export function messageAbout(host: string, error: unknown): string {
  const message = errorMessage(error);
  return message.startsWith(`${host}: `) ? message.slice(host.length + 2) : message;
}
