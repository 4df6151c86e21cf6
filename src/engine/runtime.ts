/**
 * PeerRuntime: where peers run (Docker on the config's hosts, local processes, ...). The engine
 * drives one without knowing which. The runtimes a config can select are listed in
 * `src/runtimes/registry.ts`; `tests/support/runtime_contract.ts` is the test every one passes.
 */
import type { UnstampedEvent } from "./events.ts";
import type { FaultName } from "../faults/kinds.ts";
import type { PlacedPeer } from "../plan/placement.ts";
import type { RunOwner } from "../coordination/run_owner.ts";

/** Everything needed to start one peer. */
export interface PeerLaunch {
  /** Where the peer runs. */
  placement: PlacedPeer;
  /** The whole environment, layered as docs/config.md (environment) says, system variables in. */
  env: Record<string, string>;
}

/** The last lines of an exited peer's output. */
export interface ExitOutput {
  /** Last lines of its output (stdout and stderr), oldest first; may be empty. */
  output: string[];
  /**
   * When each line of `output` was written (RFC 3339; the Docker engine's timestamps), one per
   * line, "" where unknown; absent when the runtime does not know.
   */
  outputAt?: string[];
}

/** How a peer's process or container ended for good. */
export interface PeerExit extends ExitOutput {
  /** Exit code; null when killed by a signal or unknown. */
  code: number | null;
  /**
   * When the runtime reports the exit before it has read the last lines (a read from a busy
   * engine can take seconds): they arrive here, and `output` is empty. Never rejects.
   */
  pendingOutput?: Promise<ExitOutput>;
}

/** An exit's last lines once read: its `pendingOutput` when the runtime reads them later. */
export function exitOutput(exit: PeerExit): Promise<ExitOutput> {
  return exit.pendingOutput ?? Promise.resolve(exit);
}

/**
 * Where a runtime sends its events. They carry no time: the engine stamps each on its own clock
 * as it arrives.
 */
export type RuntimeSink = (event: UnstampedEvent) => void;

/** A started peer. */
export interface RunningPeer {
  readonly name: string;
  /** What the runtime calls it, for traces: a container ID, `pid 1234`. */
  readonly id: string;
  /** ID of the image it runs (`sha256:…`), if the runtime knows it; for the run record. */
  readonly imageId?: string;
  /**
   * Resolves once the peer's process/container has exited for good. Exits with code 42 are
   * the restart protocol and are handled inside (the image's entrypoint, or the runtime),
   * not reported here. Never rejects.
   */
  readonly exited: Promise<PeerExit>;
}

/**
 * The run holding the lease on `database` (`<host>:<port>/<db>`) of the Redis this run uses:
 * null when no live run does, "elsewhere" when `database` is not on that server.
 */
export type LeaseHolderLookup = (database: string) => Promise<RunOwner | null | "elsewhere">;

/** What the engine hands a runtime during setup. */
export interface RuntimeContext {
  emit: RuntimeSink;
  signal: AbortSignal;
  /**
   * The runtime can no longer run the test faithfully (a host lost for good): the run fails with
   * `reason` (one line naming the host) and winds down. Default: none (the runtime only emits).
   */
  fail?: (reason: string) => void;
  /**
   * The Redis database this run leased, `<host>:<port>/<db>`, for labels. Setup starts while
   * Redis does, so the engine sets it once leased: after setup began, before any `start()`.
   * Default: none.
   */
  database?: string;
  /**
   * Tells a live run from a dead one by its lease (a lookup made before the lease is taken
   * waits for it). Default: no lease is looked up.
   */
  leaseHolder?: LeaseHolderLookup;
}

export interface PeerRuntime {
  /** Short name for traces: "docker", "process". */
  readonly kind: string;
  /**
   * Everything before peers can start: connect to every host, pull and ship images.
   * Emits host and image events. Throws on failure; `teardown` is still called.
   */
  setup(context: RuntimeContext): Promise<void>;
  /**
   * The REDIS_URL a peer at `placement` must use, given the URL the orchestrator itself
   * connects to (e.g. a loopback host replaced by the address the host sees us at).
   */
  redisUrlFor(placement: PlacedPeer, orchestratorUrl: string): string;
  /**
   * The IPv4 address peers on other hosts reach the peer at `placement` at (its `ADVERTISE_IP`,
   * docs/protocol.md), known once `setup` is done; absent or undefined: ADVERTISE_IP is not set.
   */
  advertiseIpFor?(placement: PlacedPeer): string | undefined;
  /** Start one peer. Resolves when it was launched (not when it reports `started`). */
  start(launch: PeerLaunch, signal: AbortSignal): Promise<RunningPeer>;
  /**
   * Stop and remove everything this runtime started (containers, processes, images if
   * configured), close connections. Every peer's `exited` has resolved when it returns.
   * Idempotent: a second call returns the first call's promise. Never throws: problems become
   * warnings, and whatever could not be removed is reported as a `left-behind` event (the run
   * then fails).
   */
  teardown(options?: TeardownOptions): Promise<void>;
  /** Faults this runtime can inject; absent when it cannot (docs/config.md, "Faults"). */
  readonly faults?: FaultControl;
}

/** How to tear a runtime down. */
export interface TeardownOptions {
  /**
   * Kill at once (second Ctrl-C): no grace period after a polite stop, no waiting for a lost
   * host to come back. Given to a teardown already under way, it cuts that teardown's waits
   * short. Default: false.
   */
  force?: boolean;
  /** Where teardown's events go. Default: the sink given to `setup`, if it ran. */
  emit?: RuntimeSink;
  /**
   * Receives each launched peer's whole output (stdout and stderr, interleaved, as `docker logs`
   * gives it), streamed line by line with each line's time, before its container or process is
   * removed, crashed peers included: the run record's `peers/<peer>.container.log`. A runtime
   * streams a bounded number of peers at a time, never a peer's whole output in memory.
   * Teardown awaits it; a forced teardown stops collecting. Default: not collected.
   */
  collectOutput?: OutputCollector;
  /**
   * Receives each peer's config directory (`/config`, kept on its host while the run lasts) as
   * a tar stream of its regular files and directories, all under one top-level directory (whose
   * name does not matter, as in the Engine API's archive of a directory), after its container
   * was removed and before the directory is: the run record's `peers/<peer>/config/`. A forced
   * teardown stops collecting. Default: not collected (the directories are removed either way).
   */
  collectConfig?: ConfigCollector;
}

/** One line of a peer's output. */
export interface OutputLine {
  /**
   * When it was written, RFC 3339 as the Docker engine stamps it (nanoseconds, the host's
   * clock) or as this machine saw it; "" when unknown.
   */
  at: string;
  /** The line, without its newline. */
  text: string;
}

/**
 * Takes one peer's output as it streams, oldest line first; reads it to its end or stops early
 * (a `break` ends the stream); must not throw. A stream that fails ends early: the runtime
 * reports the failure.
 */
export type OutputCollector = (peer: string, lines: AsyncIterable<OutputLine>) => Promise<void>;

/**
 * Takes one peer's config directory as a tar stream; reads it to its end or cancels it; must
 * not throw.
 */
export type ConfigCollector = (peer: string, archive: ReadableStream<Uint8Array>) => Promise<void>;

/** The faults a timeline entry may carry: one record each in `src/faults/kinds.ts`. */
export type { FaultName };

/**
 * Shaping of one peer's outgoing traffic (a `tc` tree inside its network namespace: src/runtimes/docker/traffic_control.ts). Each
 * field set replaces the peer's previous value of it; an absent field keeps what was set before.
 */
export interface NetworkShaping {
  delayMs?: number;
  jitterMs?: number;
  lossPercent?: number;
  rateKbit?: number;
}

/**
 * Faults injected from the orchestrator, without the peer's cooperation. Optional on a runtime:
 * one without it cannot run a test whose timeline has `fault:` entries (a config error at setup).
 * Every method takes the peer names of the plan; a peer whose container is gone makes the
 * method throw `FaultTargetGoneError` (the engine turns it into a warning).
 */
export interface FaultControl {
  /**
   * Checks, on each host given, that the tools the listed faults need exist and may be used.
   * Called after `setup`, before any peer starts. Throws `FaultToolError` naming host and tool.
   */
  preflight(needs: ReadonlyMap<string, ReadonlySet<FaultName>>, signal: AbortSignal): Promise<void>;
  /** Freezes the peer (docker pause / SIGSTOP). */
  pause(peer: string, signal: AbortSignal): Promise<void>;
  /** Thaws a paused peer. */
  resume(peer: string, signal: AbortSignal): Promise<void>;
  /**
   * SIGKILL. The peer's `exited` resolves (the engine knows it is expected); what is needed to
   * `start` it again (name, environment, port) is kept.
   */
  kill(peer: string, signal: AbortSignal): Promise<void>;
  /** Starts a killed peer again, same name, environment and port; a new `RunningPeer`. */
  start(peer: string, signal: AbortSignal): Promise<RunningPeer>;
  /** Shapes the peer's outgoing traffic (adds to what `shape` set before). */
  shape(peer: string, shaping: NetworkShaping, signal: AbortSignal): Promise<void>;
  /**
   * No traffic between peers of different groups, both ways, across hosts and within one host.
   * Peers in no group are unaffected. Replaces any partition set before.
   */
  partition(groups: readonly (readonly string[])[], signal: AbortSignal): Promise<void>;
  /**
   * Removes every network fault (shaping, partition rules) of these peers, or of every peer
   * (`"all"`). Does not resume paused peers (the engine does). Idempotent; a peer that is gone
   * is skipped.
   */
  heal(peers: readonly string[] | "all", signal: AbortSignal): Promise<void>;
}

/** A fault's target is gone (its container removed or its host lost): a warning, not a failure. */
export class FaultTargetGoneError extends Error {
  constructor(readonly peer: string, message: string) {
    super(message);
    this.name = "FaultTargetGoneError";
  }
}

/** A host lacks a tool (or the right to use it) that a planned fault needs. */
export class FaultToolError extends Error {
  constructor(readonly host: string, readonly tool: string, message: string) {
    super(message);
    this.name = "FaultToolError";
  }
}
