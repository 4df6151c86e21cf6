/**
 * PeerRuntime: where peers run (Docker over SSH, local processes, ...). The engine drives
 * one without knowing which; implementations are listed in `runtimes.ts`.
 */
import type { EventSink } from "./events.ts";
import type { PlacedPeer } from "../placement.ts";
import type { RunOwner } from "../run_owner.ts";

/** Everything needed to start one peer. */
export interface PeerLaunch {
  /** Where the peer runs. */
  placement: PlacedPeer;
  /** The complete environment (layered as spec §3, system variables included). */
  env: Record<string, string>;
}

/** How a peer's process or container ended for good. */
export interface PeerExit {
  /** Exit code; null when killed by a signal or unknown. */
  code: number | null;
  /** Last lines of its output (stdout and stderr), oldest first; may be empty. */
  output: string[];
}

/** A started peer. */
export interface RunningPeer {
  readonly name: string;
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
  emit: EventSink;
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
  /** Start one peer. Resolves when it was launched (not when it reports `started`). */
  start(launch: PeerLaunch, signal: AbortSignal): Promise<RunningPeer>;
  /**
   * Stop and remove everything this runtime started (containers, processes, images if
   * configured), close connections. Idempotent, never throws: problems become warnings, and
   * whatever could not be removed is reported as a `left-behind` event (the run then fails).
   * @param options.force skip waiting: kill at once (second Ctrl-C)
   */
  teardown(options?: { force?: boolean; emit?: EventSink }): Promise<void>;
}
