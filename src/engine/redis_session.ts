/**
 * The run's Redis, from start to stop: the server (`RedisProvider`), the run's own database on
 * it (`RedisLease`, docs/concurrency.md), and the coordination connected to that database. The
 * run's setup opens it in steps the run names and can halt; its cleanup closes the connections,
 * then releases the lease (which gives notify-keyspace-events back), then stops the server.
 */
import type { Coordination } from "../coordination/coordination.ts";
import { RedisCoordination } from "../coordination/redis_coordination.ts";
import { RedisLease } from "../coordination/redis_lease.ts";
import type { RunOwner } from "../coordination/run_owner.ts";
import { redactUrls } from "../base/url_redaction.ts";
import type { UnstampedEvent } from "./events.ts";
import type { RedisProvider, RedisServer } from "./redis_provider.ts";
import type { RuntimeSink } from "./runtime.ts";

export interface RedisSessionOptions {
  redis: RedisProvider;
  /** Who runs the run, stored in the lease. */
  owner: RunOwner;
  /** Lease lifetime without a refresh, ms. Default: RedisLease's (15 s). */
  leaseTtlMs?: number | undefined;
  /** Default: `RedisCoordination.open`. */
  openCoordination?: ((url: string, signal: AbortSignal) => Promise<Coordination>) | undefined;
  /** Where the Redis provider's own events go (stamped by the run). */
  runtimeSink: RuntimeSink;
  emit: (event: UnstampedEvent) => void;
  /** The lease was lost while the run held it: the run fails. */
  leaseLost: (message: string) => void;
  /** Awaits one setup step, cut short by a halt; its errors say `what` the run was doing. */
  step: <T>(what: string, promise: Promise<T>) => Promise<T>;
  /** Awaits a cleanup step; a failure is a warning saying `what` failed, never a throw. */
  guard: (what: string, promise: Promise<unknown>) => Promise<void>;
}

/** What an opened session gives the run. */
export interface OpenRedis {
  lease: RedisLease;
  coordination: Coordination;
}

export class RedisSession {
  readonly #options: RedisSessionOptions;
  #serverStart: Promise<RedisServer> | undefined;
  #leasing: Promise<RedisLease> | undefined;
  readonly #leased = Promise.withResolvers<RedisLease>();
  #coordinationOpen: Promise<Coordination> | undefined;
  #coordination: Coordination | undefined;

  constructor(options: RedisSessionOptions) {
    this.#options = options;
    this.#leased.promise.catch(() => {}); // a failed lease is reported by its step in open()
  }

  /** The coordination, once connected. */
  get coordination(): Coordination | undefined {
    return this.#coordination;
  }

  /**
   * Starts Redis without waiting for it, so the hosts can be set up meanwhile (on the testbed,
   * a 2-peer run gained the ~0.6 s of the Redis container's start-up). `signal` ends the start.
   */
  start(signal: AbortSignal): void {
    this.#serverStart = this.#options.redis.start(signal, this.#options.runtimeSink);
    signal.addEventListener("abort", () => this.#leased.reject(signal.reason), { once: true });
  }

  /** Who holds the lease on `database`: waits for the run's lease to be taken first. */
  async leaseHolder(database: string): Promise<RunOwner | null | "elsewhere"> {
    return (await this.#leased.promise).holder(database);
  }

  /**
   * After `start()`: waits for Redis, leases a database, connects the coordination to it and
   * enables keyspace notifications (a refusal is a warning), then reports `redis-ready`.
   * @param onLeased called as soon as the lease is taken, before the rest of the steps
   */
  async open(signal: AbortSignal, onLeased: (lease: RedisLease) => void): Promise<OpenRedis> {
    const { step, emit } = this.#options;
    const server = await step("starting Redis", this.#serverStart!);
    this.#leasing = RedisLease.acquire(server.url, this.#options.owner, {
      signal,
      ttlMs: this.#options.leaseTtlMs,
      trace: (message) => emit({ type: "trace", message }),
      onLost: this.#options.leaseLost,
    });
    this.#leasing.then(this.#leased.resolve, this.#leased.reject);
    const lease = await step("leasing a Redis database", this.#leasing);
    onLeased(lease);
    emit({ type: "trace", message: `leased database ${lease.db} (${lease.database})` });
    await step("reading notify-keyspace-events", lease.rememberKeyspaceEvents());
    const open = this.#options.openCoordination ??
      ((url, signal) =>
        RedisCoordination.open(url, {
          signal,
          trace: (message: string) => emit({ type: "trace", message }),
        }));
    const opening = open(lease.url, signal);
    this.#coordinationOpen = opening;
    const coordination = await step("connecting to Redis", opening);
    this.#coordination = coordination;
    const notifications = await step(
      "enabling keyspace notifications",
      coordination.enableKeyspaceNotifications(),
    );
    if (!notifications.ok) {
      emit({
        type: "warning",
        message: `Redis refused CONFIG SET notify-keyspace-events K$ (${notifications.reason}): ` +
          "status changes are seen only if the server already has notify-keyspace-events with K and $",
      });
    }
    // Peers get the URL with its password; what tm shows and records never has it.
    emit({ type: "redis-ready", url: redactUrls(lease.url) });
    return { lease, coordination };
  }

  /** Closes the coordination's connections, even one still connecting when the run halted. */
  async closeConnections(): Promise<void> {
    const coordination = this.#coordination ??
      await this.#coordinationOpen?.catch(() => undefined);
    if (coordination) {
      await this.#options.guard("closing the Redis connections", coordination.close());
    }
  }

  /** After `closeConnections()`: releases the lease (if taken), then stops Redis (if started). */
  async release(): Promise<void> {
    const lease = await this.#leasing?.catch(() => undefined);
    if (lease) {
      const { restoredKeyspaceEvents } = await lease.release();
      if (restoredKeyspaceEvents !== undefined) {
        this.#options.emit({
          type: "trace",
          message: `notify-keyspace-events set back to ${JSON.stringify(restoredKeyspaceEvents)}`,
        });
      }
    }
    const server = await this.#serverStart?.catch(() => undefined);
    if (server) await this.#options.guard("stopping Redis", server.stop());
  }
}
