/**
 * The run's peers as processes or containers: launched a few at a time, each exit watched and
 * judged. An exit is expected once the runtime tears down, after a `kill` fault, or when the
 * peer said `stopped` (or was sent `shutdown` and exited 0); any other exit fails the run.
 */
import { forEachConcurrently } from "../base/async.ts";
import type { Config } from "../plan/schema.ts";
import { peerEnvironment } from "../plan/environment.ts";
import { errorMessage } from "../base/errors.ts";
import type { PlacedPeer } from "../plan/placement.ts";
import type { UnstampedEvent } from "./events.ts";
import type { PeerStates } from "./peer_states.ts";
import {
  type ExitOutput,
  exitOutput,
  type PeerExit,
  type PeerRuntime,
  type RunningPeer,
} from "./runtime.ts";
import { StepError } from "./step_error.ts";

/**
 * Peers launched at the same time on one host (runtime.start calls in flight); hosts are
 * launched in parallel, each with its own window, since each host's engine is the bottleneck,
 * not the orchestrator. The Docker runtime sends the launches issued together to a host as one
 * script, so the wider the window, the fewer round trips: with 8, 300 peers on one host spent
 * 149 s starting where 32 parallel `docker run -d` typed by hand took about 80 s
 * (bench/run_overhead_bench.ts).
 */
export const LAUNCH_CONCURRENCY = 32;
/** How long an exit waits for a `stopped` status already on its way before it is judged. */
export const EXIT_STATUS_GRACE_MS = 500;

export interface PeerLaunchesOptions {
  config: Config;
  plan: readonly PlacedPeer[];
  runtime: PeerRuntime;
  states: PeerStates;
  emit: (event: UnstampedEvent) => void;
  /** Whether the runtime's teardown has begun: every exit from then on is expected. */
  tearingDown: () => boolean;
  /** A peer exited unexpectedly: the run fails with `message`. */
  fail: (message: string) => void;
}

export class PeerLaunches {
  readonly #options: PeerLaunchesOptions;
  readonly #launches: Promise<unknown>[] = [];
  readonly #exits: Promise<void>[] = [];
  /** Each peer's entry of the config, by name (a lookup per launch, not a scan). */
  readonly #peerConfig: Map<string, Config["peers"][number]>;

  constructor(options: PeerLaunchesOptions) {
    this.#options = options;
    this.#peerConfig = new Map(options.config.peers.map((peer) => [peer.name, peer]));
  }

  /** The launches issued so far (cleanup waits for them to settle). */
  get launches(): readonly Promise<unknown>[] {
    return this.#launches;
  }

  /** Each launched peer's exit being handled; grows with every (re)launch. */
  get exits(): readonly Promise<void>[] {
    return this.#exits;
  }

  /**
   * Launches every peer of the plan, every host at once, `LAUNCH_CONCURRENCY` at a time on
   * each; resolves once all are launched. `signal` stops issuing launches and aborts those in
   * flight; the first failed launch stops issuing launches on every host.
   * @throws StepError naming the peer and host whose launch failed
   */
  async launchAll(redisUrl: string, signal: AbortSignal): Promise<void> {
    const byHost = new Map<number, PlacedPeer[]>();
    for (const placement of this.#options.plan) {
      let peers = byHost.get(placement.hostIndex);
      if (!peers) byHost.set(placement.hostIndex, peers = []);
      peers.push(placement);
    }
    const failed = new AbortController();
    const issuing = AbortSignal.any([signal, failed.signal]);
    await Promise.all(
      [...byHost.values()].map((peers) =>
        forEachConcurrently(peers, LAUNCH_CONCURRENCY, issuing, (placement) => {
          const launch = this.#launch(placement, redisUrl, signal);
          this.#launches.push(launch);
          return launch;
        }).catch((error) => {
          failed.abort(error);
          throw error;
        })
      ),
    );
  }

  /** A `start` fault ran a killed peer again (`markRelaunching` came first): watch its new exit. */
  relaunched(peer: string, running: RunningPeer): void {
    const { states } = this.#options;
    this.#emitLaunched(peer, states.of(peer).host, running);
    this.#watchExit(peer, running);
  }

  async #launch(placement: PlacedPeer, redisUrl: string, signal: AbortSignal): Promise<void> {
    const { config, runtime, states, emit } = this.#options;
    const { peer, host } = placement;
    emit({ type: "peer-starting", peer, host });
    const own = this.#peerConfig.get(peer);
    const env = peerEnvironment(
      { peer_environment: config.peer_environment, peers: own ? [own] : [] },
      placement,
      runtime.redisUrlFor(placement, redisUrl),
      runtime.advertiseIpFor?.(placement),
    );
    let running: RunningPeer;
    try {
      running = await runtime.start({ placement, env }, signal);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw new StepError(`starting peer ${peer} on ${host}`, error);
    }
    states.markLaunched(peer);
    this.#emitLaunched(peer, host, running);
    this.#watchExit(peer, running);
  }

  #emitLaunched(peer: string, host: string, running: RunningPeer): void {
    this.#options.emit({
      type: "peer-launched",
      peer,
      host,
      id: running.id,
      ...(running.imageId !== undefined ? { imageId: running.imageId } : {}),
    });
  }

  #watchExit(peer: string, running: RunningPeer): void {
    this.#exits.push(running.exited.then(
      (exit) => this.#onExit(peer, exit),
      (error) =>
        this.#onExit(peer, { code: null, output: [`(exit unknown: ${errorMessage(error)})`] }),
    ));
  }

  async #onExit(peer: string, exit: PeerExit): Promise<void> {
    const { states, emit, tearingDown } = this.#options;
    const state = states.of(peer);
    if (state.killedByFault) {
      // A `kill` fault: expected, not a crash; the run goes on (a `start` may run it again).
      states.markExited(peer, exit, { expected: true, killed: true });
      emit({ type: "peer-exited", peer, code: exit.code, expected: true });
      return;
    }
    let expected = tearingDown();
    if (!expected) {
      // The `stopped` a peer set just before exiting may still be on its way.
      if (state.status !== "stopped") {
        // A wait on this peer alone: woken by its own changes, not every peer's.
        await states.eachWithin(
          [peer],
          (state) => state.status === "stopped",
          EXIT_STATUS_GRACE_MS,
          neverAborted,
        );
      }
      expected = state.status === "stopped" || (state.shutdownSent && exit.code === 0) ||
        tearingDown();
    }
    states.markExited(peer, exit, { expected, killed: tearingDown() });
    // An expected exit is news at once (shutdown waits for it; the record keeps its time), its
    // last lines follow in `peer-output`. A crash waits for them: its error quotes the last one.
    const output = expected ? exit : await exitOutput(exit);
    emit({ type: "peer-exited", peer, code: exit.code, expected, ...outputFields(output) });
    if (exit.pendingOutput && expected) {
      const later = outputFields(await exit.pendingOutput);
      if (later.output) emit({ type: "peer-output", peer, ...later, output: later.output });
    }
    if (expected) {
      if (state.status !== "stopped" && !tearingDown()) {
        emit({
          type: "warning",
          peer,
          message: `${peer} exited after shutdown without reporting stopped`,
        });
      }
      return;
    }
    const how = exit.code === null ? "was killed by a signal" : `exited with code ${exit.code}`;
    const last = output.output.at(-1);
    emit({
      type: "error",
      peer,
      message: `${peer} ${how} unexpectedly (last status: ${state.status ?? "none"})${
        last ? `; last output: ${last}` : ""
      }`,
    });
    this.#options.fail(`peer ${peer} ${how} unexpectedly`);
  }
}

const neverAborted = new AbortController().signal;

/** An exit's last lines as an event carries them: none when empty, times when all known. */
function outputFields(exit: ExitOutput): { output?: string[]; outputAt?: string[] } {
  if (exit.output.length === 0) return {};
  return {
    output: exit.output,
    ...(exit.outputAt?.length === exit.output.length ? { outputAt: exit.outputAt } : {}),
  };
}
