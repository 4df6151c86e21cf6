/**
 * ReconnectingRemote: a `Remote` that outlives a dropped connection. When the connection it
 * wraps is lost (a killed sshd session, a network blip), it reconnects with capped exponential
 * back-off until `giveUpAfterMs` have passed since the loss, then gives up for good.
 *
 * Commands issued during the outage wait for the new connection (or fail with `HostLostError`
 * once it gave up). Commands in flight when the connection dropped fail: whether they ran on the
 * host is unknown, so nothing is re-run behind the caller's back. `spawn` is not deferred: during
 * an outage the process fails at once, so long-lived streams (`docker events`) await `ready()`
 * before they subscribe again.
 */
import { abortable } from "../base/async.ts";
import type { Duplex } from "node:stream";
import type { ExecOptions, ExecResult, Remote, RemoteProcess } from "./remote.ts";
import { RemoteError } from "./remote.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { errorMessage } from "../base/errors.ts";

/** Capped exponential back-off between reconnection attempts. */
export interface Backoff {
  /** Wait before the first attempt, ms. */
  firstDelayMs: number;
  /** Longest wait between attempts, ms. */
  maxDelayMs: number;
  /** Each wait is the previous one times this. */
  factor: number;
}

/**
 * 250 ms, 500 ms, 1 s, 2 s, 4 s, then every 5 s: a killed session is back within a second, and a
 * host that is down is not hammered.
 */
export const DEFAULT_BACKOFF: Backoff = { firstDelayMs: 250, maxDelayMs: 5_000, factor: 2 };

/** The wait before reconnection attempt `attempt` (1-based), ms. */
export function backoffDelay(attempt: number, backoff: Backoff = DEFAULT_BACKOFF): number {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(`attempt must be a positive integer, got ${attempt}`);
  }
  return Math.min(backoff.maxDelayMs, backoff.firstDelayMs * backoff.factor ** (attempt - 1));
}

/** What happened to the connection, for events and traces. */
export type ConnectionEvent =
  /** The connection dropped; reconnecting for up to `giveUpAfterMs`. */
  | { type: "lost"; error: RemoteError; giveUpAfterMs: number }
  /** One attempt failed; the next comes after `nextDelayMs` (if the deadline allows). */
  | { type: "attempt-failed"; attempt: number; error: unknown; nextDelayMs: number }
  /** Connected again after `attempts` attempts, `outageMs` after the loss. */
  | { type: "restored"; attempts: number; outageMs: number }
  /** No connection within the deadline: every command fails with `error` from now on. */
  | { type: "gave-up"; error: HostLostError };

/** The host did not come back within the deadline after the connection dropped. */
export class HostLostError extends RemoteError {
  constructor(
    host: string,
    /** Time from the loss to giving up, ms. */
    readonly outageMs: number,
    /** Reconnection attempts made. */
    readonly attempts: number,
    /** Why the last attempt failed (or the loss itself if none was made). */
    readonly last: unknown,
  ) {
    super(
      host,
      "unreachable",
      `connection lost and not restored within ${formatSeconds(outageMs)} (${
        attempts === 1 ? "1 attempt" : `${attempts} attempts`
      }; last: ${errorMessage(last).replace(`${host}: `, "")})`,
      { cause: last },
    );
    this.name = "HostLostError";
  }
}

/** Time source and sleeps; injected by tests. */
export interface Clock {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** `performance.now()` and real timers. */
export const REAL_CLOCK: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }),
};

export interface ReconnectingRemoteOptions {
  /** Opens a new connection to the same host; aborting stops the attempt. */
  connect: (signal: AbortSignal) => Promise<Remote>;
  /** How long after a loss reconnection is tried before giving up, ms. */
  giveUpAfterMs: number;
  /** Default: DEFAULT_BACKOFF. */
  backoff?: Backoff;
  /** Told about every loss, failed attempt, recovery and give-up. Must not throw. */
  onEvent?: (event: ConnectionEvent) => void;
  /** Default: REAL_CLOCK. */
  clock?: Clock;
}

export class ReconnectingRemote implements Remote {
  readonly name: string;
  readonly #options: ReconnectingRemoteOptions;
  readonly #clock: Clock;
  readonly #closed = new AbortController();
  #current: Remote;
  #generation = 0;
  /** Set during an outage: resolves once connected again, rejects with HostLostError. */
  #outage: Promise<void> | null = null;
  #gaveUp: HostLostError | null = null;

  /** Wraps `first`, an open connection. */
  constructor(first: Remote, options: ReconnectingRemoteOptions) {
    this.name = first.name;
    this.#options = options;
    this.#clock = options.clock ?? REAL_CLOCK;
    this.#current = first;
    this.#adopt(first);
  }

  /** How many times the connection was restored; a change means "a new connection". */
  get generation(): number {
    return this.#generation;
  }

  /** True while connected: no outage under way, not given up, not closed. */
  get connected(): boolean {
    return this.#outage === null && this.#gaveUp === null && !this.#closed.signal.aborted;
  }

  /** Aborted by `close()` only: a lost connection is reconnected, not reported here. */
  get disconnected(): AbortSignal {
    return this.#closed.signal;
  }

  /**
   * Resolves when connected: at once, or when the outage under way ends. Rejects with the
   * HostLostError once given up, or with the signal's reason.
   */
  async ready(signal?: AbortSignal): Promise<void> {
    await this.#live(signal);
  }

  /**
   * After giving up: tries again, for at most `withinMs` (cleanup's last chance to remove what
   * the run left on the host). During an outage it waits for it; when connected it returns.
   */
  reconnect(withinMs: number, signal?: AbortSignal): Promise<void> {
    if (this.#gaveUp && !this.#closed.signal.aborted) {
      const previous = this.#gaveUp;
      this.#gaveUp = null;
      this.#begin(previous.last, withinMs);
    }
    return this.ready(signal);
  }

  async orchestratorAddress(): Promise<string | null> {
    return await (await this.#live()).orchestratorAddress();
  }

  async execute(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    return await (await this.#live(options.signal)).execute(argv, options);
  }

  spawn(argv: string[], options: { signal?: AbortSignal } = {}): RemoteProcess {
    return this.#current.spawn(argv, options);
  }

  /** A socket on the host through the live connection, waiting through an outage. */
  async dialSocket(path: string, signal?: AbortSignal): Promise<Duplex> {
    return await (await this.#live(signal)).dialSocket(path, signal);
  }

  /** Stops reconnecting and closes the current connection; idempotent. */
  async close(): Promise<void> {
    if (!this.#closed.signal.aborted) {
      this.#closed.abort(new RemoteError(this.name, "channel", "the connection was closed"));
    }
    await this.#current.close();
  }

  /** The live connection, waiting through an outage. */
  async #live(signal?: AbortSignal): Promise<Remote> {
    for (;;) {
      signal?.throwIfAborted();
      if (this.#closed.signal.aborted) throw this.#closed.signal.reason;
      if (this.#gaveUp) throw this.#gaveUp;
      if (this.#outage === null) return this.#current;
      await abortable(this.#outage, signal).catch((error) => {
        if (signal?.aborted) throw error;
        // given up (or closed): the loop throws the reason
      });
    }
  }

  /** Makes `remote` the current connection and watches it for a loss. */
  #adopt(remote: Remote): void {
    this.#current = remote;
    const onLost = () => {
      if (remote !== this.#current || this.#closed.signal.aborted) return;
      const reason = remote.disconnected.reason;
      const error = reason instanceof RemoteError
        ? reason
        : new RemoteError(this.name, "unreachable", `connection lost: ${errorMessage(reason)}`);
      void remote.close().catch(() => {}); // frees what the dead connection still holds
      this.#options.onEvent?.({
        type: "lost",
        error,
        giveUpAfterMs: this.#options.giveUpAfterMs,
      });
      this.#begin(error, this.#options.giveUpAfterMs);
    };
    if (remote.disconnected.aborted) onLost();
    else remote.disconnected.addEventListener("abort", onLost, { once: true });
  }

  /** Starts an outage: reconnects until `budgetMs` have passed. */
  #begin(cause: unknown, budgetMs: number): void {
    const outage = this.#reconnect(cause, budgetMs);
    this.#outage = outage;
    outage.catch(() => {}); // waiters see it through #live
  }

  async #reconnect(cause: unknown, budgetMs: number): Promise<void> {
    const clock = this.#clock;
    const backoff = this.#options.backoff ?? DEFAULT_BACKOFF;
    const closed = this.#closed.signal;
    const started = clock.now();
    const deadline = started + budgetMs;
    let attempts = 0;
    let last = cause;
    try {
      while (clock.now() < deadline) {
        await clock.sleep(
          Math.min(backoffDelay(attempts + 1, backoff), deadline - clock.now()),
          closed,
        );
        if (clock.now() >= deadline) break;
        attempts++;
        const remote = await this.#attempt(deadline - clock.now()).catch((error) => {
          if (closed.aborted) throw closed.reason;
          last = error;
          this.#options.onEvent?.({
            type: "attempt-failed",
            attempt: attempts,
            error,
            nextDelayMs: backoffDelay(attempts + 1, backoff),
          });
          return null;
        });
        if (remote === null) continue;
        if (closed.aborted) {
          await remote.close().catch(() => {});
          throw closed.reason;
        }
        this.#generation++;
        this.#outage = null;
        this.#adopt(remote);
        this.#options.onEvent?.({ type: "restored", attempts, outageMs: clock.now() - started });
        return;
      }
    } catch (error) {
      this.#outage = null;
      throw error; // closed meanwhile
    }
    const error = new HostLostError(this.name, clock.now() - started, attempts, last);
    this.#gaveUp = error;
    this.#outage = null;
    this.#options.onEvent?.({ type: "gave-up", error });
    throw error;
  }

  /**
   * One connection attempt, cut off at the deadline or when closed. The cut-off is a real timer,
   * not the clock's: it runs alongside the attempt rather than before it.
   */
  async #attempt(withinMs: number): Promise<Remote> {
    const deadline = new AbortController();
    const timer = setTimeout(
      () =>
        deadline.abort(
          new RemoteError(this.name, "timeout", `no connection within ${formatSeconds(withinMs)}`),
        ),
      withinMs,
    );
    try {
      return await this.#options.connect(AbortSignal.any([this.#closed.signal, deadline.signal]));
    } finally {
      clearTimeout(timer);
    }
  }
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1_000).toFixed(1))} s`;
}
