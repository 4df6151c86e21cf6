/**
 * How the Docker runtime reaches its hosts: connect every host at once (one connection each,
 * reconnected when it drops), the host's first answer through its shell (`$HOME`, the engine's
 * socket, the peer config dirs created) and the probe that learns, in one round trip, what setup
 * needs to know of a host.
 */
import { connectionRunEvent } from "./connection_events.ts";
import { Limiter } from "../../base/async.ts";
import { errorMessage } from "../../base/errors.ts";
import type { UnstampedEvent } from "../../engine/events.ts";
import type { PlacedPeer } from "../../plan/placement.ts";
import type { Config, HostConfig } from "../../plan/schema.ts";
import { hostEndpoint, hostName } from "../../plan/schema.ts";
import { CoalescingRemote } from "../../transport/coalescing_remote.ts";
import { HostShell } from "../../transport/host_shell.ts";
import { LocalRemote } from "../../transport/local.ts";
import { type ConnectionEvent, ReconnectingRemote } from "../../transport/reconnecting_remote.ts";
import type { Remote } from "../../transport/remote.ts";
import { TimedRemote } from "../../transport/timed_remote.ts";
import { containerName, LABELS, OWNER_LABEL_KEYS, testSlug } from "./container_names.ts";
import type { DockerHost, HostFacts } from "./docker_host.ts";
import { DockerEngine, engineSocketOf } from "./engine_api.ts";
import { configDirInHome } from "./peer_config_dirs.ts";

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

/** Opens the connection to a host (the CLI passes SshRemote.connect). */
export type HostConnector = (
  host: HostConfig,
  index: number,
  signal: AbortSignal,
) => Promise<Remote>;

export interface ConnectHostsOptions {
  config: Config;
  plan: PlacedPeer[];
  connect: HostConnector;
  /** Container starts in flight per host (each host's `limiter`). */
  startsPerHost: number;
  send: (event: UnstampedEvent) => void;
  /** Whether teardown began: a host connected after that is closed again. */
  tearingDown: () => boolean;
  /** What happens to a host's connection after it was made (`reportConnectionEvent`). */
  onConnectionEvent: (name: string, event: ConnectionEvent) => void;
}

/**
 * Connects every host at once, each into `hosts` at its index as soon as it is connected (so
 * teardown closes those that were); fails naming every host that could not be reached.
 */
export async function connectHosts(
  hosts: (DockerHost | undefined)[],
  options: ConnectHostsOptions,
  signal: AbortSignal,
): Promise<void> {
  const { config, connect, send } = options;
  const results = await Promise.allSettled(config.hosts.map(async (hostConfig, index) => {
    const name = hostName(hostConfig);
    const address = hostEndpoint(hostConfig);
    send({ type: "host-connecting", host: name, address });
    const started = performance.now();
    const first = await connect(hostConfig, index, signal);
    if (options.tearingDown()) {
      await first.close();
      throw new Error(`${name}: connected after teardown began`);
    }
    // Reconnections outlive setup's signal: cleanup needs the host too.
    const remote = new ReconnectingRemote(first, {
      connect: (attempt) => connect(hostConfig, index, attempt),
      giveUpAfterMs: config.timeout.startup * 1_000,
      onEvent: (event) => options.onConnectionEvent(name, event),
    });
    const trace = (message: string) => send({ type: "trace", message });
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
    const dirs = options.plan.filter((p) => p.hostIndex === index)
      .map((p) => configDirInHome(containerName(config.name, p.peer)));
    const login = askLogin(shell, dirs);
    login.catch(() => {}); // awaited by the probe
    hosts[index] = {
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
      limiter: new Limiter(options.startsPerHost),
      imageIds: new Map(),
    };
    send({
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

/**
 * What setup needs to know of a host, in one round trip (the questions are asked at once, each
 * on a kept-alive socket of its engine): Docker works, how the host sees us, its home directory,
 * which of its peers' images it holds, the containers named or labelled like this test's (for
 * `clearLeftovers`); the login's mkdir created the peer config dirs. Fills in the host's
 * `orchestratorAddress` and `home`.
 */
export async function probeHost(
  host: DockerHost,
  options: { config: Config; peers: PlacedPeer[]; send: (event: UnstampedEvent) => void },
  signal: AbortSignal,
): Promise<HostFacts> {
  const { config, peers, send } = options;
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
  send({ type: "host-ready", host: host.name, docker: version.engine });
  send({
    type: "trace",
    message: `${host.name}: Docker ${version.engine}, Engine API ${version.api} at ${login.socket}`,
  });
  host.orchestratorAddress = address;
  host.home = login.home;
  return { images: present, named, labelled };
}

/**
 * Reports what happens to a host's connection as the run's events; a host lost for good calls
 * `fail` (which the runtime ignores once teardown began: cleanup reports what it leaves behind).
 */
export function reportConnectionEvent(
  name: string,
  event: ConnectionEvent,
  sinks: { send: (event: UnstampedEvent) => void; fail: (reason: string) => void },
): void {
  if (event.type === "gave-up") {
    sinks.fail(`host ${name} lost: ${event.error.message.replace(`${name}: `, "")}`);
    return;
  }
  const runEvent = connectionRunEvent(name, event);
  if (runEvent) sinks.send(runEvent);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
