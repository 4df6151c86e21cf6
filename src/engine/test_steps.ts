/**
 * The test's own steps, once its peers are launched: wait until every peer started, bootstrap,
 * the timeline, shutdown; and, after a halt, the graceful part of stopping early. They send
 * commands and wait on peer states. Setting up, halting and cleaning up are the run's lifecycle
 * (`run.ts`), which hands the steps what they may use through a `StepContext`.
 */
import type { Config } from "../plan/schema.ts";
import type { PlacedPeer } from "../plan/placement.ts";
import { describePeers } from "../plan/peer_groups.ts";
import type { TimelineCommand, TimelineFault, UnstampedEvent } from "./events.ts";
import { type PeerState, type PeerStates, reportedFailure } from "./peer_states.ts";
import { batchTimeline, runTimeline, type TimelineBatch } from "./timeline.ts";

/** How long bootstrap waits for a bootstrap peer's address once everybody started. */
export const BOOTSTRAP_ADDRESS_WAIT_MS = 1_000;

/** A command on its way to a peer; `index` and `dueMs` for the timeline's. */
export interface OutgoingCommand {
  peer: string;
  command: string;
  /** Position in the timeline. */
  index?: number;
  /** When the timeline had it due, ms after the timeline started. */
  dueMs?: number;
}

/** What the steps may use of the run. */
export interface StepContext {
  config: Config;
  plan: PlacedPeer[];
  timeline: TimelineCommand[];
  /** The timeline's faults (their indexes among the commands'). */
  faults: TimelineFault[];
  states: PeerStates;
  emit(event: UnstampedEvent): void;
  /**
   * Sends commands in one pipeline, in order (those to peers that can no longer receive them are
   * reported undeliverable). A failed send halts the run; the returned promise never rejects.
   * @param lateMs how late the timeline dispatched them
   * @param meanwhile called once the pipeline is written, before the commands' events
   */
  send(commands: OutgoingCommand[], lateMs?: number, meanwhile?: () => void): Promise<void>;
  /** Resolves once every send in flight has landed. */
  sendsLanded(): Promise<void>;
  /**
   * Queues a batch's faults (done one after another, never delaying commands); returns at once.
   * @param lateMs how late the timeline dispatched them
   */
  applyFaults(faults: TimelineFault[], dueMs: number, lateMs: number): void;
  /** Resolves once every queued fault was done. Never rejects. */
  faultsLanded(): Promise<void>;
  /** Aborted when the run halts (failure, stop, kill). */
  halted: AbortSignal;
  /** `promise`, or rejection with the halt as soon as the run halts. */
  abortable<T>(promise: Promise<T>): Promise<T>;
  /** Fails the run with `message`; returns the deciding halt, for the caller to throw. */
  fail(message: string): Error;
}

/** The steps of one test; each is called once, in order. */
export class TestSteps {
  readonly #context: StepContext;
  readonly #bootstrapOf: Map<string, string[]>;

  constructor(context: StepContext) {
    this.#context = context;
    this.#bootstrapOf = new Map(context.config.peers.map((peer) => [peer.name, peer.bootstrap]));
  }

  /**
   * Waits until every peer reported `started`; fails the run after the startup timeout, or at
   * once when a peer reports `failed` before it started (it never will).
   */
  async awaitStarted(): Promise<void> {
    const { config, plan, states, halted } = this.#context;
    this.#context.emit({
      type: "trace",
      message:
        `all ${plan.length} peers launched; waiting up to ${config.timeout.startup}s for started`,
    });
    // Each peer is re-checked only when it changes: O(peers) in all, whatever the order.
    const outcome = await states.eachWithin(
      states.names,
      (state) => state.started,
      config.timeout.startup * 1_000,
      halted,
      (state) => !state.started && state.failure !== undefined,
    );
    if (outcome.held) return;
    if (outcome.early) {
      throw this.#context.fail(
        reportedFailure(outcome.early.peer, outcome.early.failure!, " before it started"),
      );
    }
    const missing = states.all().filter((state) => !state.started);
    throw this.#context.fail(
      `startup timeout: ${missing.length} of ${plan.length} peers did not report started within ${config.timeout.startup}s: ${
        missing.map((state) => states.describe(state.peer)).join(", ")
      }`,
    );
  }

  /**
   * Sends every peer the addresses of its bootstrap peers, all in one pipeline.
   * @param onAddressesKnown called once the addresses are known, before the commands are sent
   *   (from then on, a peer that starts again must be sent its commands again)
   */
  async bootstrap(onAddressesKnown: () => void): Promise<void> {
    const { plan, states, emit } = this.#context;
    const needed = new Set([...this.#bootstrapOf.values()].flat());
    const unknown = () => [...needed].filter((peer) => states.get(peer)?.address === undefined);
    const waitFor = unknown();
    if (waitFor.length > 0) {
      emit({
        type: "trace",
        message: `waiting up to ${BOOTSTRAP_ADDRESS_WAIT_MS} ms for the address of ${
          waitFor.join(", ")
        }`,
      });
      await states.eachWithin(
        waitFor,
        (state) => state.address !== undefined,
        BOOTSTRAP_ADDRESS_WAIT_MS,
        this.#context.halted,
      );
    }
    const missing = unknown();
    if (missing.length > 0) {
      // Who bootstraps from whom, indexed once: a lookup per missing peer, not a scan.
      const dependentsOf = new Map<string, string[]>();
      for (const placement of plan) {
        for (const other of this.#bootstrapOf.get(placement.peer) ?? []) {
          let dependents = dependentsOf.get(other);
          if (!dependents) dependentsOf.set(other, dependents = []);
          if (dependents.at(-1) !== placement.peer) dependents.push(placement.peer);
        }
      }
      for (const peer of missing) {
        emit({
          type: "warning",
          peer,
          message:
            `${peer} reported no bootstrap address (status "started" without "|<address>"): ${
              (dependentsOf.get(peer) ?? []).join(", ")
            } will not receive it`,
        });
      }
    }
    onAddressesKnown();
    const commands = plan.flatMap((placement) => this.bootstrapCommands(placement.peer));
    if (commands.length === 0) return;
    await this.#context.abortable(this.#context.send(commands));
  }

  /** The bootstrap commands of `peer`: one `peer|<address>` per bootstrap peer whose address is known. */
  bootstrapCommands(peer: string): OutgoingCommand[] {
    return (this.#bootstrapOf.get(peer) ?? []).flatMap((other) => {
      const address = this.#context.states.get(other)?.address;
      return address === undefined ? [] : [{ peer, command: `peer|${address}` }];
    });
  }

  /**
   * Sends the timed commands and queues the faults at their due times, then waits for the last
   * sends to land and the last faults to be done.
   */
  async timeline(): Promise<void> {
    const { timeline, faults, emit } = this.#context;
    const batches = batchTimeline([...timeline, ...faults].sort((a, b) => a.index - b.index));
    if (batches.length > 0) {
      emit({
        type: "trace",
        message:
          `timeline: ${timeline.length} commands and ${faults.length} faults in ${batches.length} batches over ${
            batches.at(-1)!.dueMs / 1_000
          }s`,
      });
    }
    await runTimeline({
      batches,
      signal: this.#context.halted,
      dispatch: (batch, lateMs) => this.dispatch(batch, lateMs),
    });
    await this.#context.abortable(
      Promise.all([this.#context.sendsLanded(), this.#context.faultsLanded()]),
    );
  }

  /**
   * Does one batch of the timeline: queues its faults, sends its commands in one pipeline. The
   * one path of every timeline entry, scripted or typed by hand (`manual_timeline.ts`).
   * @param lateMs how late the batch is dispatched
   */
  dispatch(batch: TimelineBatch, lateMs: number): void {
    // The commands' pipeline is written first (microseconds), then the faults' requests start
    // (a fault's request work, ~0.3 ms and more under load, no longer holds the commands), then
    // the commands' events are emitted: no request waits for the sinks. Entries due at one
    // instant keep the order they always had in effect: the pipeline was written first before
    // too (the faults' requests left a turn later), and a pipeline is in Redis long before a
    // fault's request (a round trip to the engine) takes effect.
    const faults = () => {
      if (batch.faults.length > 0) this.#context.applyFaults(batch.faults, batch.dueMs, lateMs);
    };
    if (batch.commands.length === 0) return faults();
    void this.#context.send(
      batch.commands.map((c) => ({
        peer: c.peer,
        command: c.command,
        index: c.index,
        dueMs: batch.dueMs,
      })),
      lateMs,
      faults,
    );
  }

  /** Sends `shutdown` to every peer still running and waits until each stopped. */
  async shutdown(): Promise<void> {
    const { config, states } = this.#context;
    await this.#awaitComingBack();
    const targets = await this.#sendShutdown();
    const missing = await this.#awaitStopped(targets, this.#context.halted);
    if (missing.length === 0) return;
    throw this.#context.fail(
      `shutdown timeout: ${missing.length} of ${targets.length} peers did not stop within ${config.timeout.shutdown}s: ${
        missing.map((peer) => states.describe(peer)).join(", ")
      }`,
    );
  }

  /**
   * After a failure or a stop: peers that started get `shutdown` and up to the shutdown timeout
   * to stop. `signal` (a kill, Redis lost) cuts the wait short.
   */
  async windDown(signal: AbortSignal): Promise<void> {
    const { config, emit } = this.#context;
    // A failed send is reported as a Redis failure and ends the wait below through `signal`.
    const targets = await this.#sendShutdown();
    if (targets.length === 0 || signal.aborted) return;
    try {
      const missing = await this.#awaitStopped(targets, signal);
      if (missing.length > 0) {
        emit({
          type: "warning",
          message: `${missing.length} peers did not stop within ${config.timeout.shutdown}s: ${
            missing.join(", ")
          }; the teardown ends them`,
        });
      }
    } catch {
      // killed, or Redis is gone: clean up at once
    }
  }

  /**
   * Before `shutdown`: waits, up to the startup timeout, until no peer is coming back (it said
   * `restarting`, or a `start` fault ran it again and it has said nothing since). Each that comes
   * back is sent its bootstrap commands again (`run.ts`) before its `shutdown`, as after any start;
   * asked to stop while still down, it would find `shutdown` first and its restart would go
   * untested. The timeline's end does not wait for a start: in CI a `start` fault's `docker start`
   * returned 20 s after it was due, and its peer's `started` came 2.2 s after that, once `shutdown`
   * had been sent. One still down at the timeout is named in a warning and sent `shutdown` with
   * the others, which judges it.
   */
  async #awaitComingBack(): Promise<void> {
    const { config, states, emit, halted } = this.#context;
    const comingBack = states.all().filter(isComingBack).map((state) => state.peer);
    if (comingBack.length === 0) return;
    emit({
      type: "trace",
      message: `waiting up to ${config.timeout.startup}s for ${
        describePeers(comingBack.map((name) => ({ name })))
      } to start again before shutdown`,
    });
    const outcome = await states.eachWithin(
      comingBack,
      (state) => !isComingBack(state),
      config.timeout.startup * 1_000,
      halted,
    );
    if (outcome.held) return;
    const down = comingBack.filter((peer) => isComingBack(states.of(peer)));
    emit({
      type: "warning",
      message: `did not start again within ${config.timeout.startup}s (timeout.startup), ` +
        `shutdown is sent anyway: ${describePeers(down.map((name) => ({ name })))}`,
    });
  }

  /** Sends `shutdown` to every peer that started and can still receive it; returns them. */
  async #sendShutdown(): Promise<string[]> {
    const { states } = this.#context;
    const targets = states.all()
      .filter((state) => state.started && states.reachable(state.peer))
      .map((state) => state.peer);
    for (const peer of targets) states.markShutdownSent(peer);
    if (targets.length > 0) {
      await this.#context.send(targets.map((peer) => ({ peer, command: "shutdown" })));
    }
    return targets;
  }

  /**
   * Waits until every target stopped (or exited), then until every peer that reported `stopped`
   * (a target or not: one may have stopped on its own earlier) has exited, so that each exit is
   * reported as it happened rather than as a kill by the teardown. Both within the shutdown
   * timeout, counted from the call; the wait ends as soon as the last such peer exited.
   * @returns the targets that did not stop in time
   */
  async #awaitStopped(targets: string[], signal: AbortSignal): Promise<string[]> {
    const { config, states, emit } = this.#context;
    const timeoutMs = config.timeout.shutdown * 1_000;
    const started = performance.now();
    const stopped = await states.eachWithin(
      targets,
      (state) => state.status === "stopped" || state.exit !== undefined,
      timeoutMs,
      signal,
    );
    if (!stopped.held) return targets.filter((peer) => states.reachable(peer));
    // Hundreds of containers stopping at once have their exits reported long after: at 300
    // peers on the test bed every one said `stopped` within 0.9 s and their exits came 5-15 s
    // later. Any cut shorter than the timeout the user set blames peers for tm's impatience
    // (a kill at teardown fails an `exit_code` check).
    const stoppedPeers = states.all()
      .filter((state) => state.status === "stopped" && state.exit === undefined)
      .map((state) => state.peer);
    const exited = await states.eachWithin(
      stoppedPeers,
      (state) => state.exit !== undefined,
      Math.max(0, timeoutMs - (performance.now() - started)),
      signal,
    );
    if (!exited.held) {
      const running = stoppedPeers.filter((peer) => states.of(peer).exit === undefined);
      emit({
        type: "warning",
        message: `reported stopped but did not exit within ${config.timeout.shutdown}s ` +
          `(timeout.shutdown), the teardown ends them: ${
            describePeers(running.map((name) => ({ name })))
          }`,
      });
    }
    return [];
  }
}

/**
 * Whether a peer is on its way back up: it said `restarting`, or a `start` fault ran it again and
 * it has reported nothing since; not once it exited.
 */
function isComingBack(state: PeerState): boolean {
  return state.exit === undefined && (state.relaunched || state.status === "restarting");
}
