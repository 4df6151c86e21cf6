/**
 * The few ways tm waits: a concurrency limit, a bounded wait, a wait cut short by an abort. One
 * copy each, so a leaked timer or listener is fixed in one place (the engine, the Docker runtime
 * and the SSH transport all use them).
 */

/** One `acquire` waiting for a slot. */
interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * At most `limit` holders at once; the others wait in arrival order. A waiter leaves the queue
 * when its signal aborts; `fail` rejects every waiter (and every later `acquire`) for good.
 */
export class Limiter {
  #free: number;
  readonly #waiters: Waiter[] = [];
  #failure: { error: unknown } | undefined;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`a limit must be a positive integer, got ${limit}`);
    }
    this.#free = limit;
  }

  /** Holders right now. */
  get active(): number {
    return this.limit - this.#free;
  }

  /** Resolves once a slot is held (release it with `release`); rejects if `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure.error);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Hands the slot to the next waiter, or frees it. */
  release(): void {
    const next = this.#waiters.shift();
    if (next) next.resolve();
    else this.#free++;
  }

  /** Runs `task` holding a slot. */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  /** No slot will be handed out any more: waiters and later `acquire`s reject with `error`. */
  fail(error: unknown): void {
    this.#failure ??= { error };
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }
}

/**
 * Runs `task` over `items` with at most `limit` in flight, in order of the items. The first
 * failure rejects (tasks in flight go on; no new one starts), as does an abort of `signal`.
 */
export async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      signal.throwIfAborted();
      try {
        await task(items[next++]);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * `promise`, or rejection with `signal.reason` as soon as `signal` aborts (the promise itself
 * goes on; its later rejection is not reported as unhandled). Without a signal, `promise`.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => {});
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Waits until `promise` settles (fulfilled or rejected alike), for at most `ms`, less if `signal`
 * aborts. Never rejects.
 * @returns true if it settled in time
 */
export async function settledWithin(
  promise: Promise<unknown>,
  ms: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const settled = promise.then(() => true, () => true);
  if (signal?.aborted) return await Promise.race([settled, Promise.resolve(false)]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const cut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    onAbort = () => resolve(false);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([settled, cut]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * `promise`, or rejection with `timedOut()` if it has not settled within `ms` (the promise itself
 * goes on; its later rejection is not reported as unhandled).
 */
export async function deadline<T>(
  promise: Promise<T>,
  ms: number,
  timedOut: () => Error,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      promise.catch(() => {});
      reject(timedOut());
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** `promise`'s value, or `fallback` if it has not settled within `ms`; rejects as `promise` does. */
export async function valueWithin<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<T>((resolve) => timer = setTimeout(() => resolve(fallback), ms));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
