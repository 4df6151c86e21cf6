/**
 * RedisCoordination: the Coordination interface over ioredis, with a constant number of
 * connections whatever the number of peers (named in `CLIENT LIST`):
 *
 * - `tm:main` — RPUSH of commands (one pipeline per `send()`), GET/MGET, DEL, CONFIG, INFO;
 * - `tm:status` — one subscriber for every `__keyspace@<db>__:<peer>_status` channel (explicit
 *   channels, no pattern, so a shared Redis's other keys cost nothing) and for the keyevent
 *   channels of list pushes in the run's own database (`__keyevent@<db>__:lpush`, `rpush`);
 * - `tm:logs` — the log drain. With notifications on and Redis ≥ 6.2 ("notified"), a push to
 *   `<peer>_log` marks that peer ready, and the drain pops only ready lists, a round of up to
 *   DRAIN_ROUND_KEYS of them in one pipeline of `RPOP key NOTIFIED_POP_COUNT`: a line costs the
 *   same at 10 peers as at 10,000 (BLMPOP naming every key cost O(peers) per call: 15,200
 *   calls/s at 100 keys, 1,100/s at 5,000). A list whose pop came back full is popped again next
 *   round. Each round reaches the consumer as one batch (`logBatches()`), and the next round is
 *   popped while the consumer handles it.
 *   Without notifications (an external Redis refusing CONFIG) it falls back to one blocking
 *   `BLMPOP 0 <n> <keys…> RIGHT COUNT <k>` (Redis ≥ 7; key order rotated after each pop so no
 *   peer starves) or `BRPOP` over all keys (+ `RPOP key count` on ≥ 6.2) on older servers.
 *
 * Statuses: subscribe first, then one MGET, then an MGET per burst of notifications; each
 * peer's values are yielded in the order read, consecutive duplicates dropped. A value a peer
 * overwrites before tm's GET reaches Redis is not seen (keyspace notifications carry no
 * value); the latest value always is. When keyspace notifications cannot be enabled (an
 * external Redis refusing CONFIG), statuses fall back to one MGET of all peers every
 * `pollIntervalMs` (and say so through `trace`).
 *
 * Faults: every connection reconnects by itself. After a reconnect the notification setting is
 * re-applied (a restarted Redis forgot it), channels are re-subscribed, every status is read
 * again (changes missed meanwhile are yielded), every log list is popped once more (pushes whose
 * notification was missed) and a blocking pop is re-issued; log entries wait in Redis meanwhile
 * (only a batch popped in the very instant the link broke can be lost). If any connection stays
 * down longer than `outageLimitMs`, the coordination fails for good: the generators throw a
 * CoordinationError and `send()` rejects with it.
 */
import { Redis } from "ioredis";
import { settledWithin } from "../base/async.ts";
import {
  type Coordination,
  CoordinationError,
  type LogEntry,
  type StatusUpdate,
} from "./coordination.ts";
import { parseLogEntry, parseStatus } from "./protocol.ts";
import { redactUrls } from "../base/url_redaction.ts";
import { errorMessage } from "../base/errors.ts";

export interface RedisCoordinationOptions {
  /** Aborts `open()`. */
  signal?: AbortSignal;
  /** Receives the coordination's own trace lines (fallbacks, reconnects). Default: dropped. */
  trace?: (message: string) => void;
  /** How long `open()` tries to reach Redis before it rejects. Default 5,000 ms. */
  connectTimeoutMs?: number;
  /** How long a connection may stay down mid-run before the coordination fails. Default 10,000 ms. */
  outageLimitMs?: number;
  /** Status poll interval when keyspace notifications are unavailable. Default 100 ms. */
  pollIntervalMs?: number;
  /** Most log entries taken from one list per pop. Default 1,000. */
  logBatch?: number;
  /** Drain logs with BRPOP even on Redis ≥ 7 (for tests and benchmarks). Default false. */
  forceBrpop?: boolean;
  /**
   * Drain logs with one blocking pop over every key even when keyspace notifications are on
   * (the fallback, for tests and benchmarks). Default false.
   */
  forceBlockingPop?: boolean;
}

/**
 * Most lists popped in one round of the notified drain (one pipeline). Bounds a round's reply
 * (with `logBatch`) while keeping a round trip's cost spread over many peers.
 */
export const DRAIN_ROUND_KEYS = 256;
/**
 * The notified drain pops no more while this many entries wait for the consumer: lines wait in
 * Redis, not in tm's memory (10,000 peers' 200,000 lines queued at once took 400 MB of heap).
 * One full round (DRAIN_ROUND_KEYS × NOTIFIED_POP_COUNT), so the next round is popped while the
 * consumer handles the last: Redis and tm work at once.
 */
export const DRAIN_QUEUE_HIGH = 25_600;
/**
 * Nor while this many rounds wait: one waiting and one in flight, so small rounds do not pile up
 * to DRAIN_QUEUE_HIGH entries either.
 */
export const DRAIN_QUEUE_ROUNDS = 1;
/**
 * Most entries the notified drain pops from one list at a time (`logBatch` if lower): a round
 * of DRAIN_ROUND_KEYS lists then brings at most 25,600 entries into memory.
 */
export const NOTIFIED_POP_COUNT = 100;

/**
 * The list events that bring a log list entries. The notified drain hears of them on their
 * keyevent channels (`__keyevent@<db>__:lpush`, the key as message): two subscriptions whatever
 * the number of peers, where a keyspace channel per `<peer>_log` took 10,000 SUBSCRIBEs to start
 * and as many to end, and delivered the `rpop` event of each of tm's own pops (which marked the
 * list again: a second, empty RPOP per pop). The run's database is its own (RedisLease), so the
 * pushes heard are its peers'; other keys' are dropped by name.
 */
const LOG_PUSH_EVENTS = ["lpush", "rpush"] as const;

/**
 * Unbounded FIFO behind an async generator: never drops, ends or fails once. An item may weigh
 * more than one (a batch of log entries weighs its length): `size` counts weight.
 */
class EventQueue<T> {
  #items: (T | undefined)[] = [];
  #weights: number[] = [];
  #head = 0;
  #weight = 0;
  #wake: (() => void) | undefined;
  #ended = false;
  #error: Error | undefined;
  #idle: (() => void)[] = [];
  #roomWaiters: { below: number; items: number; resolve: () => void }[] = [];

  /** The weight of the items pushed and not yet taken. */
  get size(): number {
    return this.#weight;
  }

  /** Items pushed and not yet taken. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /**
   * Resolves once items of less than `below` weight wait to be taken, fewer than `items` of
   * them (default: any number), or the queue ended.
   */
  room(below: number, items = Infinity): Promise<void> {
    if (this.#ended || (this.size < below && this.length < items)) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push({ below, items, resolve }));
  }

  #settleRoom(): void {
    if (this.#roomWaiters.length === 0) return;
    const size = this.size;
    this.#roomWaiters = this.#roomWaiters.filter((waiter) => {
      if (!this.#ended && (size >= waiter.below || this.length >= waiter.items)) return true;
      waiter.resolve();
      return false;
    });
  }

  push(item: T, weight = 1): void {
    if (this.#ended) return;
    this.#items.push(item);
    this.#weights.push(weight);
    this.#weight += weight;
    this.#wake?.();
  }

  /** Ends the queue; with an error, `next()` throws it once the queued items were taken. */
  end(error?: Error): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    this.#wake?.();
    this.#settleIdle();
    this.#settleRoom();
  }

  /**
   * Resolves once every item pushed so far was taken and the consumer came back for more (so
   * it handled them), or the queue ended.
   */
  idle(): Promise<void> {
    if (this.#ended || (this.#wake && this.#head >= this.#items.length)) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #settleIdle(): void {
    const waiters = this.#idle;
    this.#idle = [];
    for (const resolve of waiters) resolve();
  }

  /** The next item; undefined once ended (or `signal` aborted). */
  async next(signal: AbortSignal): Promise<T | undefined> {
    for (;;) {
      if (signal.aborted) return undefined;
      if (this.#head < this.#items.length) {
        const item = this.#items[this.#head] as T;
        this.#weight -= this.#weights[this.#head];
        this.#items[this.#head++] = undefined;
        this.#settleRoom();
        if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
          this.#items = this.#items.slice(this.#head);
          this.#weights = this.#weights.slice(this.#head);
          this.#head = 0;
        }
        return item;
      }
      if (this.#error) throw this.#error;
      if (this.#ended) return undefined;
      this.#settleIdle();
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#wake = undefined;
          signal.removeEventListener("abort", done);
          resolve();
        };
        this.#wake = done;
        signal.addEventListener("abort", done);
      });
    }
  }
}

/** One `statuses()` consumer: its peers, the last value it saw of each, its queue. */
interface StatusSession {
  peers: readonly string[];
  peerSet: Set<string>;
  last: Map<string, string | null>;
  queue: EventQueue<StatusUpdate>;
  poll?: ReturnType<typeof setInterval>;
}

type Role = "main" | "status" | "logs";

/** How logs are drained (see the module comment). */
export type LogMode = "notified" | "blmpop" | "brpop";

/**
 * Merges the flags `K$lE` (keyspace events of string commands: statuses; keyevent events of list
 * commands: log pushes) into a notify-keyspace-events value, keeping the others.
 */
export function withKeyspaceFlags(current: string): string {
  let flags = current;
  if (!flags.includes("K")) flags += "K";
  if (!flags.includes("$") && !flags.includes("A")) flags += "$";
  if (!flags.includes("l") && !flags.includes("A")) flags += "l";
  if (!flags.includes("E")) flags += "E";
  return flags;
}

/** The running log drain: its peers, the lists known to hold entries, its waiters. */
interface LogDrain {
  peers: readonly string[];
  /** `<peer>_log` → peer. */
  keyPeer: Map<string, string>;
  /** The keyevent channels of LOG_PUSH_EVENTS, once subscribed. */
  channels: string[];
  /** Peers whose list may hold entries, oldest mark first. */
  ready: Set<string>;
  /** A round's pipeline is in flight. */
  popping: boolean;
  /** Wakes the idle drain loop. */
  wake: (() => void) | undefined;
  /** `flushLogs()` callers, resolved once `ready` is empty and no round is in flight. */
  flushed: (() => void)[];
  /** Each round's entries in one batch, weighing its length. */
  queue: EventQueue<LogEntry[]>;
  stopped: boolean;
}

export class RedisCoordination implements Coordination {
  readonly url: string;
  /** Redis server version, from INFO at open. */
  serverVersion = "";
  /**
   * How logs are drained: "notified" (pops only lists a notification named), else BLMPOP
   * (Redis ≥ 7) or BRPOP. Decided when `logs()` starts; before, the blocking mode this server
   * supports.
   */
  logMode: LogMode = "blmpop";

  #options: Required<Omit<RedisCoordinationOptions, "signal">>;
  #main: Redis;
  #subscriber: Redis;
  #connections = new Set<Redis>();
  #db: number;
  #rpopCount = false;
  #opened = false;
  #closing = false;
  #failure: CoordinationError | undefined;
  #down = new Set<Role>();
  #outageTimer: ReturnType<typeof setTimeout> | undefined;
  #notifications: "unknown" | "on" | "off" = "unknown";
  #wantNotifications = false;
  #sessions = new Set<StatusSession>();
  #channelRefs = new Map<string, number>();
  #channelPeer = new Map<string, string>();
  #dirty = new Set<string>();
  #flushScheduled = false;
  #logQueues = new Set<EventQueue<LogEntry[]>>();
  #logsActive = false;
  #logDrain: LogDrain | undefined;
  /** Settles once the running `logs()` chose its mode (and the drain is in place). */
  #logModeDecided: Promise<void> = Promise.resolve();
  /** The peers of the running blocking drain (the fallback), for `flushLogs()`. */
  #blockingPeers: readonly string[] = [];
  #rawUrl: string;

  private constructor(url: string, options: RedisCoordinationOptions) {
    this.url = redactUrls(url);
    this.#options = {
      trace: options.trace ?? (() => {}),
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      outageLimitMs: options.outageLimitMs ?? 10_000,
      pollIntervalMs: options.pollIntervalMs ?? 100,
      logBatch: options.logBatch ?? 1_000,
      forceBrpop: options.forceBrpop ?? false,
      forceBlockingPop: options.forceBlockingPop ?? false,
    };
    this.#main = this.#connect(url, "main");
    this.#subscriber = this.#connect(url, "status");
    this.#db = this.#main.options.db ?? 0;
    this.#subscriber.on("message", (channel: string, message: string) => {
      const peer = this.#channelPeer.get(channel);
      if (peer !== undefined) this.#markDirty(peer);
      const drain = this.#logDrain;
      if (drain?.channels.includes(channel)) {
        const logPeer = drain.keyPeer.get(message);
        if (logPeer !== undefined) this.#markLogReady(logPeer);
      }
    });
    this.#rawUrl = url;
  }

  /**
   * Connects (`tm:main` and `tm:status`; `tm:logs` once `logs()` runs) and reads the server
   * version. Rejects with a CoordinationError naming the URL if Redis does not answer within
   * `connectTimeoutMs`.
   */
  static async open(
    url: string,
    options: RedisCoordinationOptions = {},
  ): Promise<RedisCoordination> {
    const coordination = new RedisCoordination(url, options);
    try {
      await coordination.#start(options.signal);
      return coordination;
    } catch (error) {
      await coordination.close();
      throw error;
    }
  }

  async #start(signal: AbortSignal | undefined): Promise<void> {
    await Promise.all([
      this.#waitReady(this.#main, signal),
      this.#waitReady(this.#subscriber, signal),
    ]);
    await this.#checkDatabase();
    const info = await this.#main.info("server");
    this.serverVersion = /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? "0";
    const [major, minor] = this.serverVersion.split(".").map(Number);
    this.#rpopCount = major > 6 || (major === 6 && minor >= 2);
    this.logMode = major >= 7 && !this.#options.forceBrpop ? "blmpop" : "brpop";
    this.#opened = true;
    this.#trace(
      `connected to Redis ${this.serverVersion} at ${this.url} (db ${this.#db})`,
    );
  }

  /**
   * ioredis SELECTs the URL's database on connect but stays "ready" on database 0 when Redis
   * refuses it; peers given the same URL would fail, and the run end in a startup timeout. So the
   * database is selected again here, where a refusal can fail the run at once.
   */
  async #checkDatabase(): Promise<void> {
    if (this.#db === 0) return;
    try {
      await this.#main.select(this.#db);
    } catch (error) {
      throw new CoordinationError(
        `Redis at ${this.url} has no database ${this.#db} (${errorMessage(error)}); ` +
          "use one below the server's `databases` setting (16 by default)",
        { url: this.url, cause: error },
      );
    }
  }

  #connect(url: string, role: Role): Redis {
    const redis: Redis = new Redis(url, {
      lazyConnect: true,
      connectionName: `tm:${role}`,
      disableClientInfo: true,
      // Requests wait through a reconnect; the outage limit bounds how long.
      maxRetriesPerRequest: null,
      // A pending BLMPOP/BRPOP is re-issued after a reconnect (ioredis's default, kept).
      retryStrategy: (times): number | null =>
        this.#closing || this.#failure || !this.#connections.has(redis)
          ? null
          : Math.min(25 * 2 ** Math.min(times, 6), 1_000),
    });
    this.#connections.add(redis);
    redis.on("error", (error: Error) => {
      if (this.#opened && !this.#closing) this.#trace(`tm:${role}: ${error.message}`);
    });
    redis.on("close", () => {
      if (this.#connections.has(redis)) this.#markDown(role);
    });
    redis.on("ready", () => {
      if (this.#connections.has(redis)) this.#markUp(role);
    });
    return redis;
  }

  async #waitReady(redis: Redis, signal: AbortSignal | undefined): Promise<void> {
    let lastError: Error | undefined;
    const onError = (error: Error) => (lastError = error);
    redis.on("error", onError);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        redis.once("ready", resolve);
        timer = setTimeout(() => {
          const why = lastError?.message ?? `no answer within ${this.#options.connectTimeoutMs} ms`;
          reject(
            new CoordinationError(`cannot connect to Redis at ${this.url}: ${why}`, {
              url: this.url,
              cause: lastError,
            }),
          );
        }, this.#options.connectTimeoutMs);
        onAbort = () =>
          reject(
            new CoordinationError(`connecting to Redis at ${this.url} was aborted`, {
              url: this.url,
              cause: signal?.reason,
            }),
          );
        if (signal?.aborted) onAbort();
        signal?.addEventListener("abort", onAbort);
        redis.connect().catch(() => {/* retried by retryStrategy until the timeout */});
      });
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
      redis.off("error", onError);
    }
  }

  #trace(message: string): void {
    try {
      this.#options.trace(message);
    } catch {
      // a tracer must not break coordination
    }
  }

  #markDown(role: Role): void {
    if (!this.#opened || this.#closing || this.#failure) return;
    if (!this.#down.has(role)) this.#trace(`lost the Redis connection tm:${role}; reconnecting`);
    this.#down.add(role);
    this.#outageTimer ??= setTimeout(() => {
      const roles = [...this.#down].map((r) => `tm:${r}`).join(", ");
      this.#fail(
        new CoordinationError(
          `Redis at ${this.url} unreachable for ${this.#options.outageLimitMs / 1000} s (${roles})`,
          { url: this.url },
        ),
      );
    }, this.#options.outageLimitMs);
  }

  #markUp(role: Role): void {
    if (!this.#down.delete(role)) return;
    if (this.#closing || this.#failure) return;
    this.#trace(`Redis connection tm:${role} is back`);
    if (this.#down.size === 0) {
      clearTimeout(this.#outageTimer);
      this.#outageTimer = undefined;
    }
    if (role === "main") {
      // A restarted Redis forgot notify-keyspace-events; re-apply it, then re-read.
      const reapply = this.#wantNotifications
        ? this.enableKeyspaceNotifications()
        : Promise.resolve();
      reapply.then(() => this.#resync(), () => {});
    } else if (role === "status") {
      this.#resync();
      this.#resyncLogs();
    } else if (role === "logs") {
      this.#resyncLogs();
    }
  }

  /** After a reconnect: make sure every channel is subscribed, then read every status. */
  async #resync(): Promise<void> {
    if (this.#sessions.size === 0) return;
    try {
      const channels = [...this.#channelRefs.keys()];
      if (channels.length > 0) await this.#subscriber.subscribe(...channels);
      const peers = new Set<string>();
      for (const session of this.#sessions) for (const peer of session.peers) peers.add(peer);
      await this.#readStatuses([...peers]);
      this.#trace(`re-read ${peers.size} statuses after reconnecting`);
    } catch (error) {
      if (!this.#closing) this.#trace(`re-reading statuses failed: ${errorMessage(error)}`);
    }
  }

  #fail(error: CoordinationError): void {
    if (this.#failure || this.#closing) return;
    this.#failure = error;
    this.#trace(error.message);
    for (const session of this.#sessions) session.queue.end(error);
    for (const queue of this.#logQueues) queue.end(error);
    for (const redis of this.#connections) redis.disconnect();
  }

  #assertUsable(): void {
    if (this.#failure) throw this.#failure;
    if (this.#closing) {
      throw new CoordinationError(`coordination with ${this.url} is closed`, { url: this.url });
    }
  }

  /** Wraps a failed Redis request: the coordination's failure if it has one. */
  #requestError(what: string, error: unknown): CoordinationError {
    if (this.#failure) return this.#failure;
    if (error instanceof CoordinationError) return error;
    return new CoordinationError(
      `${what} on Redis at ${this.url} failed: ${errorMessage(error)}`,
      {
        url: this.url,
        cause: error,
      },
    );
  }

  async enableKeyspaceNotifications(): Promise<{ ok: true } | { ok: false; reason: string }> {
    this.#assertUsable();
    this.#wantNotifications = true;
    try {
      const reply = await this.#main.config("GET", "notify-keyspace-events") as string[];
      const current = reply[1] ?? "";
      const wanted = withKeyspaceFlags(current);
      if (wanted !== current) await this.#main.config("SET", "notify-keyspace-events", wanted);
      this.#notifications = "on";
      return { ok: true };
    } catch (error) {
      if (this.#failure) throw this.#failure;
      this.#notifications = "off";
      return { ok: false, reason: errorMessage(error) };
    }
  }

  async clearPeerKeys(peers: readonly string[]): Promise<void> {
    this.#assertUsable();
    const keys = peers.flatMap((p) => [`${p}_command`, `${p}_log`, `${p}_status`]);
    try {
      for (let i = 0; i < keys.length; i += 1_000) {
        await this.#main.del(...keys.slice(i, i + 1_000));
      }
    } catch (error) {
      throw this.#requestError("clearing peer keys", error);
    }
  }

  async send(commands: readonly { peer: string; command: string }[]): Promise<void> {
    this.#assertUsable();
    if (commands.length === 0) return;
    const pipeline = this.#main.pipeline();
    // Consecutive commands to one peer share an RPUSH; order is kept either way.
    for (let i = 0; i < commands.length;) {
      const peer = commands[i].peer;
      const values: string[] = [];
      for (; i < commands.length && commands[i].peer === peer; i++) {
        values.push(commands[i].command);
      }
      pipeline.rpush(`${peer}_command`, ...values);
    }
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipeline.exec();
    } catch (error) {
      throw this.#requestError("sending commands", error);
    }
    const failed = results?.find(([error]) => error);
    if (!results || failed) {
      throw this.#requestError("RPUSH of commands", failed?.[0] ?? new Error("pipeline discarded"));
    }
  }

  async *statuses(peers: readonly string[], signal: AbortSignal): AsyncGenerator<StatusUpdate> {
    this.#assertUsable();
    const session: StatusSession = {
      peers,
      peerSet: new Set(peers),
      last: new Map(),
      queue: new EventQueue(),
    };
    this.#sessions.add(session);
    const channels = peers.map((peer) => `__keyspace@${this.#db}__:${peer}_status`);
    try {
      // 1. Subscribe, 2. make sure notifications are on (else poll), 3. read every value.
      const fresh: string[] = [];
      channels.forEach((channel, i) => {
        const refs = this.#channelRefs.get(channel) ?? 0;
        if (refs === 0) fresh.push(channel);
        this.#channelRefs.set(channel, refs + 1);
        this.#channelPeer.set(channel, peers[i]);
      });
      // close() during these steps ends the generator, as it ends one that waits for updates.
      try {
        if (fresh.length > 0) await this.#subscriber.subscribe(...fresh);
      } catch (error) {
        if (this.#closing) return;
        throw this.#requestError("subscribing to status notifications", error);
      }
      if (this.#closing) return;
      if (this.#notifications !== "on") {
        const result = await this.enableKeyspaceNotifications();
        if (!result.ok) {
          this.#trace(
            `keyspace notifications unavailable (${result.reason}): polling ${peers.length} statuses every ${this.#options.pollIntervalMs} ms`,
          );
          this.#startPolling(session);
        }
      }
      if (this.#closing) return;
      try {
        await this.#readStatuses(peers);
      } catch (error) {
        if (this.#closing) return;
        throw this.#requestError("reading statuses", error);
      }
      for (;;) {
        const update = await session.queue.next(signal);
        if (update === undefined) return;
        yield update;
      }
    } finally {
      clearInterval(session.poll);
      this.#sessions.delete(session);
      const unused: string[] = [];
      for (const channel of channels) {
        const refs = (this.#channelRefs.get(channel) ?? 1) - 1;
        if (refs > 0) this.#channelRefs.set(channel, refs);
        else {
          this.#channelRefs.delete(channel);
          this.#channelPeer.delete(channel);
          unused.push(channel);
        }
      }
      if (unused.length > 0 && !this.#closing && !this.#failure) {
        await this.#subscriber.unsubscribe(...unused).catch(() => {});
      }
    }
  }

  #startPolling(session: StatusSession): void {
    let busy = false;
    session.poll = setInterval(() => {
      if (busy || this.#down.has("main")) return;
      busy = true;
      this.#readStatuses(session.peers)
        .catch((error) => this.#trace(`polling statuses failed: ${errorMessage(error)}`))
        .finally(() => (busy = false));
    }, this.#options.pollIntervalMs);
  }

  #markDirty(peer: string): void {
    this.#dirty.add(peer);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // Notifications parsed from one socket read arrive together: one MGET for all of them.
    queueMicrotask(() => {
      this.#flushScheduled = false;
      const peers = [...this.#dirty];
      this.#dirty.clear();
      this.#readStatuses(peers).catch((error) => {
        if (!this.#closing && !this.#failure) {
          this.#trace(`reading statuses failed: ${errorMessage(error)}`);
        }
      });
    });
  }

  /** One MGET; replies on one connection arrive in order, so values are delivered in order. */
  async #readStatuses(peers: readonly string[]): Promise<void> {
    if (peers.length === 0) return;
    const values = await this.#main.mget(peers.map((peer) => `${peer}_status`));
    peers.forEach((peer, i) => this.#deliverStatus(peer, values[i]));
  }

  #deliverStatus(peer: string, raw: string | null): void {
    for (const session of this.#sessions) {
      if (!session.peerSet.has(peer)) continue;
      const previous = session.last.get(peer) ?? null;
      if (previous === raw) continue;
      session.last.set(peer, raw);
      if (raw !== null) session.queue.push(parseStatus(peer, raw));
    }
  }

  async *logs(peers: readonly string[], signal: AbortSignal): AsyncGenerator<LogEntry> {
    for await (const batch of this.logBatches(peers, signal)) yield* batch;
  }

  async *logBatches(peers: readonly string[], signal: AbortSignal): AsyncGenerator<LogEntry[]> {
    this.#assertUsable();
    if (this.#logsActive) {
      throw new CoordinationError("logs() is already running; consume it once", { url: this.url });
    }
    this.#logsActive = true;
    const queue = new EventQueue<LogEntry[]>();
    this.#logQueues.add(queue);
    const redis = this.#connect(this.#rawUrl, "logs");
    const drain: LogDrain = {
      peers,
      keyPeer: new Map(peers.map((peer) => [`${peer}_log`, peer])),
      channels: [],
      ready: new Set(),
      popping: false,
      wake: undefined,
      flushed: [],
      queue,
      stopped: false,
    };
    let popping: Promise<void> | undefined;
    let decided!: () => void;
    this.#logModeDecided = new Promise((resolve) => decided = resolve);
    try {
      if (await this.#notifiedDrainPossible(drain)) {
        this.logMode = "notified";
        this.#logDrain = drain;
        popping = this.#drainNotified(redis, drain);
      } else {
        popping = this.#drain(redis, peers, queue, drain);
      }
      decided();
      this.#trace(`draining the logs of ${peers.length} peers with ${this.logMode}`);
      for (;;) {
        const batch = await queue.next(signal);
        if (batch === undefined) return;
        yield batch;
      }
    } finally {
      decided();
      drain.stopped = true;
      drain.wake?.();
      this.#settleFlushes(drain, true);
      this.#logDrain = undefined;
      this.#connections.delete(redis);
      if (this.#down.delete("logs") && this.#down.size === 0) {
        clearTimeout(this.#outageTimer);
        this.#outageTimer = undefined;
      }
      await disconnect(redis);
      await popping;
      if (drain.channels.length > 0 && !this.#closing && !this.#failure) {
        await this.#subscriber.unsubscribe(...drain.channels).catch(() => {});
      }
      this.#logQueues.delete(queue);
      this.#logsActive = false;
    }
  }

  /**
   * Resolves once every list of the running `logs()` was seen empty after this call and every
   * entry popped was handled by its consumer (it asked for the next one), or once `logs()`
   * ended. With the peers stopped, nothing they pushed is left in Redis then. `signal` ends the
   * wait (resolving false).
   * @returns whether the lists were drained
   */
  async flushLogs(signal: AbortSignal): Promise<boolean> {
    await this.#logModeDecided;
    const drain = this.#logDrain;
    const queue = [...this.#logQueues][0];
    if (!queue || signal.aborted) return !signal.aborted;
    const aborted = new Promise<false>((resolve) => {
      if (signal.aborted) resolve(false);
      signal.addEventListener("abort", () => resolve(false), { once: true });
    });
    if (drain) {
      // Every list once more: a push whose notification is still on its way is popped too.
      const emptied = new Promise<boolean>((resolve) => drain.flushed.push(() => resolve(true)));
      for (const peer of drain.peers) this.#markLogReady(peer);
      this.#settleFlushes(drain);
      if (!await Promise.race([emptied, aborted])) return false;
      return await Promise.race([queue.idle().then(() => true), aborted]);
    }
    // The blocking fallback: until every list is empty, then the reply in flight (if any).
    for (;;) {
      const lengths = await Promise.race([this.#logLengths(), aborted]);
      if (lengths === false) return false;
      if (lengths === 0) break;
      await Promise.race([new Promise((resolve) => setTimeout(resolve, 20)), aborted]);
    }
    await Promise.race([new Promise((resolve) => setTimeout(resolve, 100)), aborted]);
    return await Promise.race([queue.idle().then(() => true), aborted]);
  }

  /** Entries in every log list of the running blocking drain (LLEN, pipelined). */
  async #logLengths(): Promise<number> {
    const peers = this.#blockingPeers;
    let total = 0;
    for (let i = 0; i < peers.length; i += 1_000) {
      const pipeline = this.#main.pipeline();
      for (const peer of peers.slice(i, i + 1_000)) pipeline.llen(`${peer}_log`);
      for (const [error, length] of (await pipeline.exec()) ?? []) {
        if (error) throw error;
        total += Number(length);
      }
    }
    return total;
  }

  /**
   * Subscribes to the log pushes' keyevent channels if notifications are (or can be turned) on
   * and the server pops with a count; false means the blocking fallback.
   */
  async #notifiedDrainPossible(drain: LogDrain): Promise<boolean> {
    if (this.#options.forceBlockingPop || this.#options.forceBrpop || !this.#rpopCount) {
      return false;
    }
    if (this.#notifications !== "on") {
      const result = await this.enableKeyspaceNotifications();
      if (!result.ok) {
        this.#trace(`keyspace notifications unavailable (${result.reason}): logs drained blocking`);
        return false;
      }
    }
    const channels = LOG_PUSH_EVENTS.map((event) => `__keyevent@${this.#db}__:${event}`);
    try {
      await this.#subscriber.subscribe(...channels);
      drain.channels = channels;
    } catch (error) {
      throw this.#requestError("subscribing to log notifications", error);
    }
    // Whatever was pushed before the subscription: every list is popped once.
    for (const peer of drain.peers) drain.ready.add(peer);
    return true;
  }

  #markLogReady(peer: string): void {
    const drain = this.#logDrain;
    if (!drain || drain.stopped) return;
    drain.ready.add(peer);
    drain.wake?.();
  }

  /** A connection came back: pushes whose notification was missed are popped too. */
  #resyncLogs(): void {
    const drain = this.#logDrain;
    if (!drain) return;
    for (const peer of drain.peers) this.#markLogReady(peer);
  }

  #settleFlushes(drain: LogDrain, always = false): void {
    if (!always && (drain.ready.size > 0 || drain.popping)) return;
    const waiters = drain.flushed;
    drain.flushed = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * The notified drain: rounds of `RPOP key count` over the lists marked ready, each peer's
   * oldest entries first; a list whose pop came back full stays ready (behind the others).
   */
  async #drainNotified(redis: Redis, drain: LogDrain): Promise<void> {
    redis.connect().catch(() => {/* reconnects by itself; the outage limit applies */});
    const batch = Math.min(this.#options.logBatch, NOTIFIED_POP_COUNT);
    while (!drain.stopped) {
      if (drain.queue.size >= DRAIN_QUEUE_HIGH || drain.queue.length >= DRAIN_QUEUE_ROUNDS) {
        await drain.queue.room(DRAIN_QUEUE_HIGH, DRAIN_QUEUE_ROUNDS);
        continue;
      }
      if (drain.ready.size === 0) {
        this.#settleFlushes(drain);
        await new Promise<void>((resolve) => {
          drain.wake = resolve;
        });
        drain.wake = undefined;
        continue;
      }
      const round: string[] = [];
      for (const peer of drain.ready) {
        round.push(peer);
        drain.ready.delete(peer);
        if (round.length === DRAIN_ROUND_KEYS) break;
      }
      const pipeline = redis.pipeline();
      for (const peer of round) pipeline.rpopBuffer(`${peer}_log`, batch);
      drain.popping = true;
      let replies: [Error | null, unknown][] | null;
      try {
        replies = await pipeline.exec();
      } catch (error) {
        if (drain.stopped || this.#closing || this.#failure) return;
        this.#trace(`draining logs: ${errorMessage(error)}`);
        replies = null;
      } finally {
        drain.popping = false;
      }
      if (!replies) {
        // The round is tried again once the connection is back.
        for (const peer of round) drain.ready.add(peer);
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      const entries: LogEntry[] = [];
      for (let i = 0; i < round.length; i++) {
        const peer = round[i];
        const [error, items] = replies[i] ?? [new Error("no reply"), null];
        if (error) {
          // A reply error (say, a log key of the wrong type): report it, don't spin.
          if (!drain.stopped) this.#trace(`draining ${peer}_log: ${error.message}`);
          continue;
        }
        const popped = (items ?? []) as Uint8Array[];
        for (const item of popped) entries.push(parseLogEntry(peer, item));
        if (popped.length >= batch) drain.ready.add(peer);
      }
      if (entries.length > 0) drain.queue.push(entries, entries.length);
    }
  }

  /** The blocking pop loop (the fallback): every entry of every peer, each peer's oldest first. */
  async #drain(
    redis: Redis,
    peers: readonly string[],
    queue: EventQueue<LogEntry[]>,
    state: { stopped: boolean },
  ): Promise<void> {
    this.#blockingPeers = peers;
    if (peers.length === 0) return;
    redis.connect().catch(() => {/* reconnects by itself; the outage limit applies */});
    const keys = peers.map((peer) => `${peer}_log`);
    const index = new Map(keys.map((key, i) => [key, i]));
    const batch = this.#options.logBatch;
    let start = 0;
    while (!state.stopped) {
      const order = start === 0 ? keys : keys.slice(start).concat(keys.slice(0, start));
      let key: string;
      let items: Uint8Array[];
      try {
        if (this.logMode === "blmpop") {
          const reply = await redis.blmpopBuffer(0, order.length, order, "RIGHT", "COUNT", batch);
          if (!reply) continue;
          key = reply[0].toString();
          items = reply[1];
        } else {
          const reply = await redis.brpopBuffer(order, 0);
          if (!reply) continue;
          key = reply[0].toString();
          items = [reply[1]];
          if (this.#rpopCount && batch > 1) {
            const more = await redis.rpopBuffer(key, batch - 1) as unknown as Uint8Array[] | null;
            if (more) items.push(...more);
          }
        }
      } catch (error) {
        if (state.stopped || this.#closing || this.#failure) return;
        const message = errorMessage(error);
        if (!/Connection is closed|ECONNRESET|EPIPE|ECONNREFUSED/.test(message)) {
          // A reply error (say, a log key of the wrong type): report it, don't spin.
          this.#trace(`draining logs: ${message}`);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        continue;
      }
      const i = index.get(key);
      if (i === undefined) continue;
      const peer = peers[i];
      const entries = items.map((item) => parseLogEntry(peer, item));
      queue.push(entries, entries.length);
      start = (i + 1) % keys.length;
    }
  }

  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearTimeout(this.#outageTimer);
    for (const session of this.#sessions) {
      clearInterval(session.poll);
      session.queue.end();
    }
    for (const queue of this.#logQueues) queue.end();
    const connections = [...this.#connections];
    this.#connections.clear();
    await Promise.all(connections.map(disconnect));
  }
}

/** Drops a connection at once (a blocking pop may be pending) and waits until it is closed. */
async function disconnect(redis: Redis): Promise<void> {
  const before = redis.status;
  redis.disconnect();
  // Between two attempts there is no socket: disconnect() just cancels the next attempt.
  if (before === "reconnecting" || redis.status === "end" || redis.status === "wait") return;
  await settledWithin(new Promise((resolve) => redis.once("end", resolve)), 1_000);
}
