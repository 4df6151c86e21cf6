/**
 * RedisProvider: where the coordination Redis comes from (a Docker container, an existing
 * server given by --redis-url, a local redis-server in tests).
 */
import type { RuntimeSink } from "./runtime.ts";

/** A Redis server ready to use. */
export interface RedisServer {
  /** The URL the orchestrator connects to, e.g. redis://127.0.0.1:6399. */
  readonly url: string;
  /** Stop it if this provider started it; idempotent, never throws. */
  stop(): Promise<void>;
}

export interface RedisProvider {
  /**
   * Start (or locate) Redis and resolve once it answers PING.
   * @param emit warnings (e.g. a dead run's container removed), unstamped like a runtime's;
   *   default: dropped
   */
  start(signal: AbortSignal, emit?: RuntimeSink): Promise<RedisServer>;
}

/** An existing Redis (--redis-url): nothing to start or stop. */
export class ExternalRedis implements RedisProvider {
  constructor(readonly url: string) {}
  start(): Promise<RedisServer> {
    return Promise.resolve({ url: this.url, stop: () => Promise.resolve() });
  }
}
