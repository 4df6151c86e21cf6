/**
 * The cleanup sequence that ends every run, whatever happened: wait for what is still being
 * acquired, heal the network still owed a heal, tear the runtime down, then drain the peers'
 * last log lines, close the Redis connections, wait for the monitors to end, release the lease
 * and stop Redis. Every wait has a bound; a failing step is a warning, never a throw.
 */
import { settledWithin } from "../base/async.ts";
import type { UnstampedEvent } from "./events.ts";
import { CLEANUP_HEAL_MS, type FaultInjector } from "./fault_injector.ts";
import type { PeerMonitor } from "./peer_monitor.ts";
import type { PeerStates } from "./peer_states.ts";
import type { RedisSession } from "./redis_session.ts";
import type { ConfigCollector, OutputCollector, PeerRuntime, RuntimeSink } from "./runtime.ts";

/** How long cleanup waits for the Redis monitors to end once the coordination closed. */
export const MONITOR_END_WAIT_MS = 2_000;
/** How long cleanup waits for exits after the runtime's teardown returned. */
export const EXIT_AFTER_TEARDOWN_MS = 5_000;

export interface RunCleanupOptions {
  runtime: PeerRuntime;
  /** Where the runtime's teardown reports (stamped by the run). */
  runtimeSink: RuntimeSink;
  /** Given to the runtime's teardown: each peer's output before it is removed. */
  collectOutput?: OutputCollector | undefined;
  /** Given to the runtime's teardown: each peer's `/config` before its directory is removed. */
  collectConfig?: ConfigCollector | undefined;
  states: Pick<PeerStates, "all">;
  /** Present when the timeline has faults. */
  faults: FaultInjector | undefined;
  monitor: PeerMonitor;
  redis: RedisSession;
  /** Aborted by the kill signal: the teardown is forced, the log drain ends at once. */
  killed: AbortSignal;
  /** Aborted when the coordination failed for good: no drain, no wait for the monitors. */
  redisDown: AbortSignal;
  emit: (event: UnstampedEvent) => void;
  /** Awaits a step; a failure is a warning saying `what` failed. */
  guard: (what: string, promise: Promise<unknown>) => Promise<void>;
}

/** What the run hands over when it cleans up. */
export interface CleanupStart {
  /** Runtime setup and launches still in flight: released once they settle. */
  acquiring: readonly (Promise<unknown> | undefined)[];
  /** Each launched peer's exit being handled (read when the teardown returned). */
  exits: readonly Promise<void>[];
  /** Called just before the teardown starts: every exit from then on is expected. */
  tearingDown: () => void;
}

export class RunCleanup {
  readonly #options: RunCleanupOptions;
  #teardown: Promise<void> | undefined;

  constructor(options: RunCleanupOptions) {
    this.#options = options;
  }

  /** Runs the sequence once; resolves when Redis is stopped. */
  async run({ acquiring, exits, tearingDown }: CleanupStart): Promise<void> {
    const { runtime, faults, states, killed, collectOutput, collectConfig } = this.#options;
    // Whatever is still being acquired is released once it settles (the halt aborted it).
    await Promise.allSettled(acquiring);
    // A second interrupt cut the heal short (or came before it): firewall rules on a host would
    // outlive the containers, so the network is healed still, with a bound of its own.
    if (faults?.healOwed) {
      await faults.healAll("at cleanup", {
        resume: false,
        signal: AbortSignal.timeout(CLEANUP_HEAL_MS),
      });
    }
    // Every peer exited (a clean run): their logs are all in Redis, so Redis can be drained,
    // closed and removed while the runtime removes the containers. Otherwise the teardown ends
    // the peers first and Redis goes last, after their last lines.
    const allExited = states.all().every((state) => state.exit !== undefined);
    const redisClosing = allExited ? this.#closeRedis() : undefined;
    tearingDown();
    this.#teardown = runtime.teardown({
      force: killed.aborted,
      emit: this.#options.runtimeSink,
      ...(collectOutput ? { collectOutput } : {}),
      ...(collectConfig ? { collectConfig } : {}),
    });
    await this.#options.guard("tearing down the runtime", this.#teardown);
    // Exits handled before the teardown may still await their last lines (`peer-output`): the
    // record is written once they are in.
    await (redisClosing
      ? Promise.all([redisClosing, this.#afterTeardown(exits)])
      : this.#afterTeardown(exits).then(() => this.#closeRedis()));
  }

  /** The kill signal came: a teardown already under way is escalated to kill at once. */
  escalate(): void {
    if (!this.#teardown) return;
    const { runtime, runtimeSink } = this.#options;
    void runtime.teardown({ force: true, emit: runtimeSink }).catch(() => {});
  }

  /** Waits for the exits the teardown caused. */
  async #afterTeardown(exits: readonly Promise<void>[]): Promise<void> {
    if (!await settledWithin(Promise.all(exits), EXIT_AFTER_TEARDOWN_MS)) {
      this.#options.emit({
        type: "warning",
        message: `the ${this.#options.runtime.kind} runtime's teardown returned but some peers ` +
          "did not report their exit",
      });
    }
  }

  /** Drains the peers' last log lines, closes the Redis connections, then stops Redis. */
  async #closeRedis(): Promise<void> {
    const { monitor, redis, killed, redisDown } = this.#options;
    if (redis.coordination && !redisDown.aborted && monitor.started) {
      await monitor.drainLogs(killed);
    }
    monitor.stop();
    await redis.closeConnections();
    // After a Redis failure the monitors have ended (or cannot end cleanly): don't wait.
    if (!await settledWithin(monitor.ended(), redisDown.aborted ? 0 : MONITOR_END_WAIT_MS)) {
      this.#options.emit({ type: "trace", message: "the Redis monitors did not end after close" });
    }
    await redis.release();
  }
}
