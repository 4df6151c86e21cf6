/**
 * One run of a test, its lifecycle: Redis, hosts and images, peers launched and watched, then
 * the test's own steps (`test_steps.ts`: bootstrap, the timeline, shutdown), then cleanup. A
 * halt (failure, stop, kill) ends the steps early; the run's stage (`RunStage`) is the one state
 * the handlers consult. The engine never prints: it emits `EngineEvent`s to the sink it was
 * given, and reports the outcome as a `RunResult`.
 *
 * Every wait is event-driven (status changes, process exits, timers), never a polling loop.
 * The roles the run wires together have files of their own: its Redis, lease and coordination
 * (`redis_session.ts`; runs sharing a Redis never share keys, docs/concurrency.md), the peers'
 * launches and exits (`peer_launches.ts`), sending commands (`command_sender.ts`), the cleanup
 * that runs whatever happens (`run_cleanup.ts`), and the verdict (`run_verdict.ts`).
 */
import { abortable } from "../base/async.ts";
import { type Config, isFault } from "../plan/schema.ts";
import type { Coordination, StatusUpdate } from "../coordination/coordination.ts";
import type { PlacedPeer } from "../plan/placement.ts";
import { currentOwner, type RunOwner } from "../coordination/run_owner.ts";
import type {
  EngineEvent,
  EventSink,
  Phase,
  TimelineCommand,
  TimelineFault,
  UnstampedEvent,
} from "./events.ts";
import { CheckEvaluator, failedCheck } from "./checks.ts";
import { CommandSender } from "./command_sender.ts";
import { FaultInjector, faultNeeds } from "./fault_injector.ts";
import { InterruptedError } from "./interrupt.ts";
import { PeerLaunches } from "./peer_launches.ts";
import { PeerMonitor } from "./peer_monitor.ts";
import { PeerStates, reportedFailure } from "./peer_states.ts";
import { RedisSession } from "./redis_session.ts";
import { RunCleanup } from "./run_cleanup.ts";
import type { RedisProvider } from "./redis_provider.ts";
import {
  type ConfigCollector,
  FaultToolError,
  type OutputCollector,
  type PeerRuntime,
  type RuntimeContext,
  type RuntimeSink,
} from "./runtime.ts";
import { RunHalt, type RunResult, runResult } from "./run_verdict.ts";
import { StepError } from "./step_error.ts";
import { TestSteps } from "./test_steps.ts";
import { buildTimeline, isTimelineFault } from "./timeline.ts";
import { ManualTimeline } from "./manual_timeline.ts";
import type { Steering } from "./steering.ts";
import { errorMessage, errorStack, UsageError } from "../base/errors.ts";

export interface RunOptions {
  config: Config;
  plan: PlacedPeer[];
  runtime: PeerRuntime;
  redis: RedisProvider;
  emit: EventSink;
  /** Graceful stop requested (first Ctrl-C, the TUI's `q`): shut peers down, then clean up. */
  stop?: AbortSignal;
  /** Clean up at once (second Ctrl-C): no more waiting for peers, forced teardown. */
  kill?: AbortSignal;
  /** Default: a new short random id (`newRunId()`). */
  runId?: string;
  /** Who runs it, stored in the Redis lease. Default: this process (`currentOwner`). */
  owner?: RunOwner;
  /** Lease lifetime without a refresh, ms. Default: RedisLease's (15 s). */
  leaseTtlMs?: number;
  /** Only reported in the run-started event. */
  logFile?: string;
  /** The run record's directory; only reported in the run-started event. */
  recordDir?: string;
  /** Given to the runtime's teardown: each peer's output before it is removed. Default: none. */
  collectOutput?: OutputCollector;
  /** Given to the runtime's teardown: each peer's `/config` as a tar stream. Default: none. */
  collectConfig?: ConfigCollector;
  /** Default: `RedisCoordination.open`. */
  openCoordination?: (url: string, signal: AbortSignal) => Promise<Coordination>;
  /**
   * The first failed check, or a peer reporting `failed`, stops the run at once (gracefully).
   * Default: the config's `fail_fast` (`--fail-fast` sets it too).
   */
  failFast?: boolean;
  /** `--strict-known`: a check marked `known` that passes fails the run. Default: false. */
  strictKnown?: boolean;
  /**
   * Manual timeline entries (the TUI's `:` prompt): opened while the timeline goes. With it, the
   * run can do faults typed by hand even when its timeline has none. Default: none.
   */
  steering?: Steering;
}

export type { RunResult } from "./run_verdict.ts";

export { EXIT_STATUS_GRACE_MS, LAUNCH_CONCURRENCY } from "./peer_launches.ts";
export { EXIT_AFTER_TEARDOWN_MS, MONITOR_END_WAIT_MS } from "./run_cleanup.ts";

/** A short id, unique enough to tell runs apart in names and logs: 8 lowercase hex digits. */
export function newRunId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Runs the test. Never throws for a failed run: it emits `run-finished` and returns the result.
 * @throws FaultsUnsupportedError (before anything starts, no event emitted) when the timeline
 *   has faults and the runtime cannot inject them
 */
export function run(options: RunOptions): Promise<RunResult> {
  try {
    assertFaultsSupported(options.config, options.runtime);
  } catch (error) {
    return Promise.reject(error);
  }
  return new Run(options).execute();
}

/** @throws FaultsUnsupportedError when `config` has faults and `runtime` cannot inject them */
export function assertFaultsSupported(config: Config, runtime: PeerRuntime): void {
  const faults = config.commands.filter(isFault).length;
  if (faults > 0 && !runtime.faults) throw new FaultsUnsupportedError(runtime.kind, faults);
}

/** The timeline has faults but the runtime has no `FaultControl`: a usage error (exit 2). */
export class FaultsUnsupportedError extends UsageError {
  constructor(readonly runtime: string, readonly faults: number) {
    super(
      `the timeline has ${faults} fault${faults === 1 ? "" : "s"} but the ${runtime} runtime ` +
        "cannot inject faults; remove the fault: entries or run on a runtime that can",
    );
    this.name = "FaultsUnsupportedError";
  }
}

/**
 * A run's stages, in order: setting up and running the test's steps until bootstrap is done;
 * bootstrapped (a peer that starts again gets its bootstrap commands again); cleaning (no new
 * halt, no new wait); tearing down (every exit from here on is expected).
 */
const RUN_STAGES = ["setting-up", "bootstrapped", "cleaning", "tearing-down"] as const;
type RunStage = typeof RUN_STAGES[number];

class Run {
  readonly #options: RunOptions;
  readonly #config: Config;
  readonly #plan: PlacedPeer[];
  readonly #runtime: PeerRuntime;
  readonly #states: PeerStates;
  readonly #timeline: TimelineCommand[];
  readonly #timelineFaults: TimelineFault[];
  /** Present when the timeline has faults (`run()` made sure the runtime can do them). */
  readonly #faults: FaultInjector | undefined;
  readonly #testSteps: TestSteps;
  readonly #checks: CheckEvaluator;
  readonly #failFast: boolean;
  /** The timer of the checks' next deadline, and when it fires (run clock). */
  #checkTimer: { id: ReturnType<typeof setTimeout>; at: number } | undefined;
  readonly #t0 = performance.now();

  /** Aborted with a RunHalt when the run must stop early (failure, stop, kill). */
  readonly #halt = new AbortController();
  /** Aborted by the kill signal: waits in shutdown and cleanup end at once. */
  readonly #killed = new AbortController();
  /** Aborted when the coordination failed for good: no status will come any more. */
  readonly #redisDown = new AbortController();

  #phase: Phase | undefined;
  readonly #redis: RedisSession;
  readonly #runId: string;
  #setup: Promise<void> | undefined;
  readonly #peers: PeerLaunches;
  readonly #monitor: PeerMonitor;
  readonly #sender: CommandSender;
  /** Where the run is in its life: the one state its waits and handlers look at. */
  #stage: RunStage = "setting-up";
  readonly #cleanupSequence: RunCleanup;
  /** Containers cleanup could not remove, per host (from the runtime's `left-behind`). */
  readonly #leftBehind = new Map<string, number>();

  constructor(options: RunOptions) {
    this.#options = options;
    this.#runId = options.runId ?? newRunId();
    this.#config = options.config;
    this.#plan = options.plan;
    this.#runtime = options.runtime;
    this.#states = new PeerStates(options.plan);
    const timeline = buildTimeline(options.config.commands, this.#states.names);
    this.#timeline = timeline.filter((entry): entry is TimelineCommand => !isTimelineFault(entry));
    this.#timelineFaults = timeline.filter(isTimelineFault);
    const control = options.runtime.faults;
    this.#faults = control && (this.#timelineFaults.length > 0 || options.steering)
      ? new FaultInjector({
        control,
        peers: this.#states.names,
        emit: (event) => this.#emit(event),
        onKilling: (peer) => this.#states.markFaultKill(peer, true),
        onKillFailed: (peer) => this.#states.markFaultKill(peer, false),
        onStarting: async (peer, signal) => {
          // A `docker kill` returns before the engine's event stream reports the exit: the
          // killed process's exit is recorded (as expected) before the new one can be judged.
          await this.#states.untilEach([peer], (state) => state.exit !== undefined, signal);
          this.#states.markRelaunching(peer);
        },
        onStartFailed: (peer) => this.#states.markRelaunchFailed(peer),
        onStarted: (peer, running) => this.#peers.relaunched(peer, running),
        fail: (message) => {
          this.#emit({ type: "error", message });
          this.#haltWith("failed", message);
        },
        halted: this.#halt.signal,
      })
      : undefined;
    this.#failFast = options.failFast ?? options.config.fail_fast;
    this.#checks = new CheckEvaluator({
      checks: options.config.expect,
      peers: options.plan.map((placement) => placement.peer),
      decided: (check) => this.#emit({ type: "check-decided", check }),
      failed: (check) => {
        // A known failure is expected: it never stops the run (known_failures.ts).
        if (this.#failFast && check.known === undefined) {
          this.#haltWith("failed", failedCheck(check));
        }
      },
    });
    this.#monitor = new PeerMonitor({
      states: this.#states,
      emit: (event) => this.#emit(event),
      onStatus: (update) => this.#onStatus(update),
      onLost: (message) => this.#lostRedis(message),
      drainTimeoutMs: options.config.timeout.shutdown * 1_000,
    });
    this.#redis = new RedisSession({
      redis: options.redis,
      owner: options.owner ?? currentOwner(this.#runId, options.config.name),
      leaseTtlMs: options.leaseTtlMs,
      openCoordination: options.openCoordination,
      runtimeSink: this.#runtimeSink,
      emit: (event) => this.#emit(event),
      leaseLost: (message) => {
        this.#emit({ type: "error", message });
        this.#haltWith("failed", message);
      },
      step: (what, promise) => this.#step(what, promise),
      guard: (what, promise) => this.#guard(what, promise),
    });
    this.#cleanupSequence = new RunCleanup({
      runtime: options.runtime,
      runtimeSink: this.#runtimeSink,
      collectOutput: options.collectOutput,
      collectConfig: options.collectConfig,
      states: this.#states,
      faults: this.#faults,
      monitor: this.#monitor,
      redis: this.#redis,
      killed: this.#killed.signal,
      redisDown: this.#redisDown.signal,
      emit: (event) => this.#emit(event),
      guard: (what, promise) => this.#guard(what, promise),
    });
    this.#peers = new PeerLaunches({
      config: options.config,
      plan: options.plan,
      runtime: options.runtime,
      states: this.#states,
      emit: (event) => this.#emit(event),
      tearingDown: () => this.#reached("tearing-down"),
      fail: (message) => this.#haltWith("failed", message),
    });
    this.#sender = new CommandSender({
      states: this.#states,
      coordination: () => this.#redis.coordination!,
      emit: (event) => this.#emit(event),
      lost: (message) => this.#lostRedis(message),
    });
    this.#testSteps = new TestSteps({
      config: this.#config,
      plan: this.#plan,
      timeline: this.#timeline,
      faults: this.#timelineFaults,
      states: this.#states,
      emit: (event) => this.#emit(event),
      send: (commands, lateMs, meanwhile) => this.#sender.send(commands, lateMs, meanwhile),
      applyFaults: (faults, dueMs, lateMs) =>
        this.#faults?.enqueue(faults, dueMs, performance.now() - lateMs),
      faultsLanded: () => this.#faults?.landed() ?? Promise.resolve(),
      sendsLanded: () => this.#sender.landed(),
      halted: this.#halt.signal,
      abortable: (promise) => this.#abortable(promise),
      fail: (message) => this.#haltWith("failed", message),
    });
  }

  async execute(): Promise<RunResult> {
    const runId = this.#runId;
    this.#emit({
      type: "run-started",
      test: this.#config.name,
      runId,
      ...(this.#config.seed !== undefined ? { seed: this.#config.seed } : {}),
      plan: this.#plan,
      timeline: this.#timeline,
      ...(this.#timelineFaults.length > 0 ? { faults: this.#timelineFaults } : {}),
      ...(this.#config.chaos
        ? { chaos: this.#config.chaos.map(({ seed, faults }) => ({ seed, faults: faults.length })) }
        : {}),
      ...(this.#options.logFile ? { logFile: this.#options.logFile } : {}),
      ...(this.#options.recordDir ? { recordDir: this.#options.recordDir } : {}),
      ...(this.#options.strictKnown ? { strictKnown: true as const } : {}),
    });
    const { stop, kill } = this.#options;
    const onStop = () => this.#interrupt(false, stop?.reason);
    const onKill = () => this.#interrupt(true, kill?.reason);
    stop?.addEventListener("abort", onStop, { once: true });
    kill?.addEventListener("abort", onKill, { once: true });
    try {
      if (kill?.aborted) onKill();
      else if (stop?.aborted) onStop();
      try {
        try {
          await this.#steps();
        } catch (error) {
          this.#failed(error);
        }
        if (this.#halt.signal.aborted) await this.#windDown();
      } catch (error) {
        this.#failed(error);
      } finally {
        await this.#cleanup();
      }
    } finally {
      stop?.removeEventListener("abort", onStop);
      kill?.removeEventListener("abort", onKill);
      // A halted run's open checks stay undecided (`stop` at the halt); the others end here.
      this.#checks.finish(this.#now(), this.#states.summaries());
      this.#armCheckTimer();
    }
    const checks = this.#checks.outcomes();
    const result = runResult({
      halt: this.#halt.signal.reason as RunHalt | undefined,
      peers: this.#states.all(),
      checks,
      leftBehind: this.#leftBehind,
      strictKnown: this.#options.strictKnown ?? false,
    });
    this.#emit({
      type: "run-finished",
      ...result,
      durationMs: this.#now(),
      peers: this.#states.summaries(),
      checks,
    });
    return result;
  }

  // ---- the steps of a run ------------------------------------------------------------------

  async #steps(): Promise<void> {
    const signal = this.#halt.signal;
    signal.throwIfAborted();

    this.#enter("redis");
    this.#redis.start(signal);
    // The hosts need Redis only once their peers start: they are set up while Redis starts and
    // is leased. The lease reaches the runtime when taken: `database` is set before any peer
    // starts, and a `leaseHolder` lookup made earlier waits for it.
    const context: RuntimeContext = {
      emit: this.#runtimeSink,
      signal,
      fail: (reason) => this.#runtimeFailed(reason),
      leaseHolder: (database) => this.#redis.leaseHolder(database),
    };
    this.#setup = this.#runtime.setup(context);
    this.#setup.catch(() => {}); // awaited below, after Redis, whose failure is reported first
    const { lease, coordination } = await this.#redis.open(
      signal,
      (lease) => context.database = lease.database,
    );

    this.#enter("hosts");
    await this.#step(`setting up the ${this.#runtime.kind} runtime`, this.#setup);
    await this.#preflightFaults();

    this.#enter("starting");
    const names = this.#states.names;
    await this.#step("clearing stale peer keys", coordination.clearPeerKeys(names));
    this.#monitor.start(coordination, names);
    await this.#startPeers(lease.url);

    this.#enter("bootstrap");
    await this.#testSteps.bootstrap(() => this.#stage = "bootstrapped");

    this.#enter("timeline");
    const manual = new ManualTimeline({
      config: this.#config,
      peers: this.#states.names,
      scripted: this.#timeline.length + this.#timelineFaults.length,
      origin: performance.now(),
      faults: this.#faults !== undefined,
      runtime: this.#runtime.kind,
      emit: (event) => this.#emit(event),
      dispatch: (batch, lateMs) => this.#testSteps.dispatch(batch, lateMs),
    });
    const steering = this.#options.steering;
    steering?.open((input) => manual.take(input));
    try {
      await this.#testSteps.timeline();
    } finally {
      steering?.close("the timeline is over: the run takes no more manual entries");
    }

    // Peers can only say `stopped` when they are thawed and reachable again.
    await this.#faults?.healAll("before shutdown", { resume: true, signal: this.#killed.signal });
    this.#halt.signal.throwIfAborted();
    this.#enter("shutdown");
    await this.#testSteps.shutdown();
  }

  /**
   * Asks the runtime whether each host with planned faults has the tools they need, before
   * any peer starts; a missing tool fails the run naming host and tool.
   */
  async #preflightFaults(): Promise<void> {
    const control = this.#runtime.faults;
    if (!control || this.#timelineFaults.length === 0) return;
    const needs = faultNeeds(
      this.#timelineFaults,
      new Map(this.#plan.map((placement) => [placement.peer, placement.host])),
    );
    this.#emit({
      type: "trace",
      message: `checking the fault tools on ${[...needs.keys()].join(", ")}`,
    });
    try {
      await this.#abortable(control.preflight(needs, this.#halt.signal));
    } catch (error) {
      if (error instanceof RunHalt) throw error;
      throw new StepError(
        error instanceof FaultToolError
          ? `faults need ${error.tool} on ${error.host}`
          : "checking the hosts' fault tools",
        error,
      );
    }
  }

  /** Launches every peer (a few at a time) and waits until each reported `started`. */
  async #startPeers(redisUrl: string): Promise<void> {
    const signal = this.#halt.signal;
    await this.#abortable(this.#peers.launchAll(redisUrl, signal));
    await this.#testSteps.awaitStarted();
  }

  /**
   * After a failure or a stop: the graceful part of stopping early. Peers that started get
   * `shutdown` and up to the shutdown timeout to stop; the kill signal cuts this short.
   */
  async #windDown(): Promise<void> {
    const halt = this.#halt.signal.reason as RunHalt;
    // Before peers are asked to stop: a frozen or cut-off peer could not say `stopped`.
    await this.#faults?.healAll(
      halt.verdict === "interrupted" ? "on interrupt" : "after the failure",
      { resume: true, signal: this.#killed.signal },
    );
    if (
      this.#killed.signal.aborted || !this.#redis.coordination || this.#redisDown.signal.aborted
    ) {
      return;
    }
    if (this.#phase === "shutdown" || !this.#monitor.started) return;
    this.#enter("shutdown");
    this.#emit({ type: "trace", message: `${halt.message}: shutting the peers down` });
    await this.#testSteps.windDown(AbortSignal.any([this.#killed.signal, this.#redisDown.signal]));
  }

  async #cleanup(): Promise<void> {
    this.#stage = "cleaning";
    this.#enter("cleanup");
    await this.#cleanupSequence.run({
      acquiring: [this.#setup, ...this.#peers.launches],
      exits: this.#peers.exits,
      tearingDown: () => this.#stage = "tearing-down",
    });
  }

  // ---- what peers report --------------------------------------------------------------------

  #onStatus(update: StatusUpdate): void {
    const { peer, status, address } = update;
    if (!this.#states.get(peer)) {
      this.#emit({ type: "trace", message: `status of a peer not in the plan: ${peer}` });
      return;
    }
    const change = this.#states.applyStatus(peer, status, address);
    this.#emit({
      type: "peer-status",
      peer,
      status,
      previous: change.previous,
      ...(address !== undefined ? { address } : {}),
    });
    if (change.failure !== undefined) this.#peerFailed(peer, change.failure);
    const state = this.#states.of(peer);
    if (change.newStart && this.#stage === "bootstrapped" && !state.shutdownSent) {
      const commands = this.#testSteps.bootstrapCommands(peer);
      if (commands.length > 0) {
        this.#emit({
          type: "trace",
          message: `${peer} started again: re-sending its ${commands.length} bootstrap commands`,
        });
        void this.#sender.send(commands);
      }
    }
  }

  /** A peer reported `failed`: the run will fail; with fail_fast it stops now. */
  #peerFailed(peer: string, reason: string): void {
    const message = reportedFailure(peer, reason);
    this.#emit({ type: "error", peer, message });
    if (this.#failFast) this.#haltWith("failed", message);
  }

  /** The runtime cannot go on (a host lost for good): the run fails, then winds down. */
  #runtimeFailed(reason: string): void {
    if (this.#reached("cleaning")) return;
    this.#emit({ type: "error", message: reason });
    this.#haltWith("failed", reason);
  }

  #lostRedis(message: string): void {
    if (this.#redisDown.signal.aborted || this.#reached("cleaning")) return;
    this.#redisDown.abort();
    this.#emit({ type: "error", message: `Redis failed: ${message}` });
    this.#haltWith("failed", `lost Redis: ${message}`);
  }

  // ---- stopping ----------------------------------------------------------------------------

  /** A stop (`force` false) or kill request; `reason` is its signal's reason. */
  #interrupt(force: boolean, reason: unknown): void {
    // Already cleaning up at once (SIGQUIT aborts kill, then stop): nothing more to do.
    if (!force && this.#killed.signal.aborted) return;
    if (this.#reached("cleaning") && !force) {
      this.#emit({ type: "trace", message: "interrupted during cleanup: cleanup goes on" });
      return;
    }
    if (force) {
      this.#killed.abort();
      // A teardown already under way is escalated: kill at once.
      this.#cleanupSequence.escalate();
    }
    this.#emit({
      type: "trace",
      message: reason instanceof InterruptedError
        ? `interrupted by ${reason.message}`
        : force
        ? "second interrupt: cleaning up at once"
        : "interrupted: stopping gracefully",
    });
    this.#haltWith("interrupted", "interrupted by the user");
  }

  /** Halts the run (the first halt decides the verdict); returns the deciding halt. */
  #haltWith(verdict: RunHalt["verdict"], message: string): RunHalt {
    if (!this.#halt.signal.aborted && !this.#reached("cleaning")) {
      this.#halt.abort(new RunHalt(verdict, message));
      // A halted run's checks are what was decided so far: the rest would be judged on a run
      // cut short.
      this.#checks.stop(this.#now());
      this.#armCheckTimer();
    }
    return (this.#halt.signal.reason as RunHalt | undefined) ?? new RunHalt(verdict, message);
  }

  /** Records an error thrown by a step: a halt is already recorded, anything else fails. */
  #failed(error: unknown): void {
    if (error instanceof RunHalt) return;
    const message = errorMessage(error);
    this.#emit({ type: "error", message });
    this.#emit({ type: "trace", message: errorStack(error) });
    this.#haltWith("failed", message);
  }

  // ---- waiting -----------------------------------------------------------------------------

  /** Awaits a step, cut short by a halt; its errors say what the engine was doing. */
  async #step<T>(what: string, promise: Promise<T>): Promise<T> {
    try {
      return await this.#abortable(promise);
    } catch (error) {
      if (error instanceof RunHalt) throw error;
      throw new StepError(what, error);
    }
  }

  /** Rejects with the halt as soon as the run halts. */
  #abortable<T>(promise: Promise<T>): Promise<T> {
    return abortable(promise, this.#halt.signal);
  }

  async #guard(what: string, promise: Promise<unknown>): Promise<void> {
    try {
      await promise;
    } catch (error) {
      this.#emit({ type: "warning", message: `${what} failed: ${errorMessage(error)}` });
    }
  }

  // ---- events ------------------------------------------------------------------------------

  /** Whether the run got to `stage` (stages only move forward). */
  #reached(stage: RunStage): boolean {
    return RUN_STAGES.indexOf(this.#stage) >= RUN_STAGES.indexOf(stage);
  }

  #enter(phase: Phase): void {
    this.#phase = phase;
    this.#emit({ type: "phase", phase });
  }

  /** The sink handed to the runtime: stamps `t`, and enters the images phase on the first
   * image event. */
  readonly #runtimeSink: RuntimeSink = (event) => {
    if (this.#phase === "hosts" && event.type.startsWith("image-")) this.#enter("images");
    if (event.type === "left-behind") {
      const count = this.#leftBehind.get(event.host) ?? 0;
      this.#leftBehind.set(event.host, count + event.containers.length);
    }
    this.#emit(event);
  };

  #emit(event: UnstampedEvent): void {
    const stamped = { ...event, t: this.#now() } as EngineEvent;
    try {
      this.#options.emit(stamped);
    } catch (error) {
      try {
        console.error(`tm: an event sink failed on ${event.type}:`, error);
      } catch {
        // stderr is gone too (the terminal closed): the run must go on regardless.
      }
    }
    // The checks are judged on what the run reports, in the order it reports it.
    if (event.type !== "check-decided") {
      this.#checks.observe(stamped);
      this.#armCheckTimer();
    }
  }

  /** Sets the one timer for the checks' next deadline (or clears it when there is none). */
  #armCheckTimer(): void {
    const at = this.#checks.nextDeadline();
    if (this.#checkTimer?.at === at) return;
    if (this.#checkTimer) clearTimeout(this.#checkTimer.id);
    this.#checkTimer = undefined;
    if (at === undefined) return;
    const id = setTimeout(() => {
      this.#checkTimer = undefined;
      this.#checks.tick(this.#now());
      this.#armCheckTimer();
    }, Math.max(0, at - this.#now()));
    this.#checkTimer = { id, at };
  }

  #now(): number {
    return performance.now() - this.#t0;
  }
}
