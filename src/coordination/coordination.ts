/**
 * Coordination: the engine's view of the Redis protocol (docs/protocol.md). Implemented over
 * ioredis by `redis_coordination.ts`; ioredis is imported nowhere else.
 */

/** A peer SET its `<peer>_status` key. */
export interface StatusUpdate {
  peer: string;
  /** The status word: everything before the first `|` (`started`, `connected`, ...). */
  status: string;
  /** Everything after the first `|`, if any (a `started` peer's bootstrap address). */
  address?: string;
  /** The value exactly as read. */
  raw: string;
}

/** One entry popped from `<peer>_log`. */
export interface LogEntry {
  peer: string;
  /** Level before the first `|` (kept verbatim if unknown); "info" if the entry had none. */
  level: string;
  message: string;
  /** True when the entry had no `|`, was empty or not valid UTF-8 (then shown lossily). */
  malformed: boolean;
}

export interface Coordination {
  /** `CONFIG SET notify-keyspace-events K$`; a refusal is returned, not thrown. */
  enableKeyspaceNotifications(): Promise<{ ok: true } | { ok: false; reason: string }>;
  /** Delete `<peer>_command`, `<peer>_log` and `<peer>_status` of every peer. */
  clearPeerKeys(peers: readonly string[]): Promise<void>;
  /** Append commands with RPUSH, in order, in one pipeline (one round trip). */
  send(commands: readonly { peer: string; command: string }[]): Promise<void>;
  /**
   * Status changes of `peers`: subscribes to their keyspace channels first, then GETs
   * every current value (so nothing set during start-up is missed), then yields each
   * change. Ends when `signal` aborts or the coordination closes.
   */
  statuses(peers: readonly string[], signal: AbortSignal): AsyncGenerator<StatusUpdate>;
  /** Log entries of `peers`, each peer's in the order it pushed them. Ends like `statuses`. */
  logs(peers: readonly string[], signal: AbortSignal): AsyncGenerator<LogEntry>;
  /**
   * The same entries as `logs()`, in the same order, a batch at a time (what one round trip
   * brought): a consumer handling a batch at once saves an async step per line. Only one of
   * `logs()` and `logBatches()` runs at a time.
   */
  logBatches(peers: readonly string[], signal: AbortSignal): AsyncGenerator<LogEntry[]>;
  /**
   * Resolves true once every list of the running `logs()` was seen empty after this call and
   * every entry popped was handled by its consumer: with the peers stopped, none of their lines
   * is left in Redis. False when `signal` aborted first.
   */
  flushLogs(signal: AbortSignal): Promise<boolean>;
  /** Close every connection; idempotent. */
  close(): Promise<void>;
}

/**
 * Redis could not be reached, or stayed unreachable mid-run for longer than the coordination
 * tolerates; the `statuses()`/`logs()` generators throw it and the run fails with its message.
 */
export class CoordinationError extends Error {
  /** The Redis URL (password removed). */
  readonly url: string;
  constructor(message: string, options: { url: string; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = "CoordinationError";
    this.url = options.url;
  }
}
