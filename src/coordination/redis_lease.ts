/**
 * RedisLease: a run's claim on one database of a Redis server (docs/concurrency.md).
 *
 * The protocol's keys are fixed (`<peer>_command`, ...), so two runs sharing a Redis must not
 * share a database. Each database a run uses holds the key `tm:lease`, whose value is the run's
 * owner (JSON of `RunOwner`), set with `SET NX PX` and refreshed by the run every `refreshMs`;
 * a run that dies stops refreshing and its lease expires after `ttlMs`. `acquire()` takes the
 * first database without a live lease (or only the one `/<db>` in the URL names); a lease
 * whose holder is a dead process on this machine is taken over at once.
 *
 * It also gives back `notify-keyspace-events`: before the first tm run changes it, the value
 * found is kept in db 0 under `tm:notify-keyspace-events:before` (SET NX: a crashed run's saved
 * value survives for the next one); the last run out (no other lease left, checked under WATCH
 * so a run starting meanwhile aborts the restore) sets it back, unless someone else changed it
 * since.
 *
 * One connection, `tm:lease`, besides the coordination's.
 */
import { Redis } from "ioredis";
import { valueWithin } from "../base/async.ts";
import { describeOwner, parseOwner, processState, type RunOwner } from "./run_owner.ts";
import { CoordinationError } from "./coordination.ts";
import { withKeyspaceFlags } from "./redis_coordination.ts";
import { redactUrls as redactUrl } from "../base/url_redaction.ts";
import { errorMessage } from "../base/errors.ts";
import { databaseOf, endpointOf, RedisLeaseError, withDatabase } from "./redis_url.ts";

// Their owner is redis_url.ts (pure, so the CLI parses --redis-url without loading ioredis).
export { databaseOf, endpointOf, RedisLeaseError, withDatabase } from "./redis_url.ts";

/** The lease key in every database tm uses. */
export const LEASE_KEY = "tm:lease";
/** db 0: notify-keyspace-events as it was before tm changed it. */
export const KEYSPACE_BEFORE_KEY = "tm:notify-keyspace-events:before";

/** Databases a server has when CONFIG GET databases is refused (Redis's default). */
const DEFAULT_DATABASES = 16;

/** Refreshes our lease: 1 refreshed, 2 taken again after it had expired, 0 someone else's. */
const REFRESH = `
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not current then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end
return 0`;

/** Replaces the lease ARGV[1] (a dead holder's) with ARGV[2]: 1 done, 0 it changed meanwhile. */
const TAKE_OVER = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1
end
return 0`;

/** Deletes the lease if it is still ours. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export interface RedisLeaseOptions {
  /** Aborts `acquire()`. */
  signal?: AbortSignal;
  /** Lease lifetime without a refresh, ms. Default 15,000. */
  ttlMs?: number;
  /** Refresh period, ms. Default a third of `ttlMs`. */
  refreshMs?: number;
  /** How long `acquire()` tries to reach Redis, ms. Default 5,000. */
  connectTimeoutMs?: number;
  /**
   * How long `release()` may take, ms; then it gives up (Redis unreachable: the lease expires
   * by itself, notify-keyspace-events stays set). Default 2,000.
   */
  releaseTimeoutMs?: number;
  /** Called once if another run took the database over (our lease had expired). */
  onLost?: (message: string) => void;
  /** Trace lines (re-taken lease, restored setting). Default: dropped. */
  trace?: (message: string) => void;
}

/** What `release()` did. */
export interface LeaseRelease {
  /** The notify-keyspace-events value set back, when this was the last run out. */
  restoredKeyspaceEvents?: string;
}

export class RedisLease {
  /** The database leased. */
  readonly db: number;
  /** The Redis URL with `/<db>`: what the coordination and the peers use. */
  readonly url: string;
  /** `<host>:<port>/<db>`, no credentials: names the database in labels and messages. */
  readonly database: string;
  readonly #redis: Redis;
  readonly #value: string;
  readonly #options: RedisLeaseOptions & { ttlMs: number; refreshMs: number };
  readonly #databases: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #released: Promise<LeaseRelease> | undefined;
  #lost = false;

  private constructor(
    redis: Redis,
    url: string,
    db: number,
    value: string,
    databases: number,
    options: RedisLeaseOptions & { ttlMs: number; refreshMs: number },
  ) {
    this.#redis = redis;
    this.db = db;
    this.url = withDatabase(url, db);
    this.database = `${endpointOf(url)}/${db}`;
    this.#value = value;
    this.#databases = databases;
    this.#options = options;
  }

  /**
   * Leases a database of the Redis at `url` for `owner`'s run: the one `/<db>` in the URL
   * names, else the first without a live lease.
   * @throws RedisLeaseError when the database asked for is out of range or every candidate is
   *   held by a live run (the message names them); CoordinationError when Redis is unreachable
   */
  static async acquire(
    url: string,
    owner: RunOwner,
    options: RedisLeaseOptions = {},
  ): Promise<RedisLease> {
    const ttlMs = options.ttlMs ?? 15_000;
    const settings = { ...options, ttlMs, refreshMs: options.refreshMs ?? Math.floor(ttlMs / 3) };
    const pinned = databaseOf(url);
    const redis = await connect(url, options);
    try {
      const databases = await countDatabases(redis);
      if (pinned !== undefined && pinned >= databases) {
        throw new RedisLeaseError(
          `database ${pinned} of ${redactUrl(url)} does not exist: that Redis has databases ` +
            `0-${
              databases - 1
            }; pick one of them in --redis-url, or leave it out to get a free one`,
        );
      }
      const value = JSON.stringify(owner);
      const candidates = pinned !== undefined
        ? [pinned]
        : Array.from({ length: databases }, (_, db) => db);
      const held: { db: number; holder: string }[] = [];
      for (const db of candidates) {
        options.signal?.throwIfAborted();
        if (await claim(redis, db, value, ttlMs, held)) {
          redis.options.db = db; // a reconnect selects it again
          await redis.select(db).catch(async (error) => {
            // Claimed but unusable: give the database back now rather than when the TTL ends.
            await redis.eval(RELEASE, 1, LEASE_KEY, value).catch(() => {});
            throw error;
          });
          const lease = new RedisLease(redis, url, db, value, databases, settings);
          lease.#startRefreshing();
          return lease;
        }
      }
      const list = held.map((h) => `db ${h.db}: ${h.holder}`).join("; ");
      throw new RedisLeaseError(
        pinned !== undefined
          ? `database ${pinned} of ${redactUrl(url)} is in use by ${held[0]?.holder}: wait ` +
            `for it to end, or leave the database out of --redis-url to get a free one`
          : `every database of ${redactUrl(url)} is in use by another tm run (${list}): wait ` +
            `for one to end, or give --redis-url another Redis`,
        held,
      );
    } catch (error) {
      redis.disconnect();
      throw error;
    }
  }

  /**
   * The owner of the lease on `database` (`<host>:<port>/<db>`, as in `this.database`): null
   * when no live run holds it, "elsewhere" when `database` is not on this server (the endpoint
   * differs, or the db does not exist here).
   */
  async holder(database: string): Promise<RunOwner | null | "elsewhere"> {
    const slash = database.lastIndexOf("/");
    const db = Number(database.slice(slash + 1));
    if (slash < 0 || database.slice(0, slash) !== endpointOf(this.url)) return "elsewhere";
    if (!Number.isInteger(db) || db < 0 || db >= this.#databases) return "elsewhere";
    const [value] = await this.#readLeases([db]);
    // A lease tm cannot read is some other client's: not known to be dead, so not ours to judge.
    return value === null ? null : parseOwner(value) ?? "elsewhere";
  }

  /**
   * Keeps notify-keyspace-events as it is now, if the coordination is about to change it
   * (it lacks `K$lE`) and no earlier tm run kept it already. A refused CONFIG is not an error.
   */
  async rememberKeyspaceEvents(): Promise<void> {
    let current: string;
    try {
      current = (await this.#redis.config("GET", "notify-keyspace-events") as string[])[1] ?? "";
    } catch {
      return; // CONFIG refused: the coordination falls back to polling and changes nothing
    }
    if (withKeyspaceFlags(current) === current) return;
    await this.#redis.pipeline().select(0).set(KEYSPACE_BEFORE_KEY, current, "NX")
      .select(this.db).exec();
  }

  /**
   * Stops refreshing, deletes the lease if it is still ours and, when no other run holds a
   * lease on this server, gives notify-keyspace-events back. Idempotent; never throws (a
   * problem is traced: the lease expires by itself).
   */
  release(): Promise<LeaseRelease> {
    this.#released ??= this.#release();
    return this.#released;
  }

  async #release(): Promise<LeaseRelease> {
    clearInterval(this.#timer);
    const ms = this.#options.releaseTimeoutMs ?? 2_000;
    const work = (async () => {
      await this.#redis.eval(RELEASE, 1, LEASE_KEY, this.#value);
      return await this.#restoreKeyspaceEvents();
    })().catch((error) => {
      this.#trace(`releasing the Redis lease on db ${this.db}: ${errorMessage(error)}`);
      return {};
    });
    try {
      const released = await valueWithin<LeaseRelease | undefined>(work, ms, undefined);
      if (released !== undefined) return released;
      this.#trace(`releasing the Redis lease: no answer within ${ms} ms; it expires by itself`);
      return {};
    } finally {
      // Commands still waiting for an unreachable Redis are dropped with the connection.
      this.#redis.disconnect();
    }
  }

  /** Sets notify-keyspace-events back if no lease is left, atomically with that check. */
  async #restoreKeyspaceEvents(): Promise<LeaseRelease> {
    const all = Array.from({ length: this.#databases }, (_, db) => db);
    for (let attempt = 0; attempt < 3; attempt++) {
      const watch = this.#redis.pipeline();
      for (const db of all) watch.select(db).watch(LEASE_KEY).get(LEASE_KEY);
      watch.select(0).watch(KEYSPACE_BEFORE_KEY).get(KEYSPACE_BEFORE_KEY);
      const replies = (await watch.exec()) ?? [];
      const leases = all.map((db) => replies[db * 3 + 2]?.[1] as string | null);
      const before = replies.at(-1)?.[1] as string | null;
      const live = leases.filter((value) => value !== null && !isDeadHere(value));
      if (before === null || live.length > 0) {
        await this.#redis.unwatch();
        return {};
      }
      const current = (await this.#redis.config("GET", "notify-keyspace-events") as string[])[1];
      const unchanged = sameFlags(current, withKeyspaceFlags(before));
      const transaction = this.#redis.multi();
      // Someone changed it since tm did: theirs stays.
      if (unchanged) {
        transaction.config("SET", "notify-keyspace-events", before);
      }
      transaction.del(KEYSPACE_BEFORE_KEY);
      if (await transaction.exec() !== null) {
        return unchanged ? { restoredKeyspaceEvents: before } : {};
      }
      // A lease or the saved value changed under WATCH: look again.
    }
    return {};
  }

  #startRefreshing(): void {
    this.#timer = setInterval(() => void this.#refresh(), this.#options.refreshMs);
  }

  async #refresh(): Promise<void> {
    try {
      const result = await this.#redis.eval(
        REFRESH,
        1,
        LEASE_KEY,
        this.#value,
        this.#options.ttlMs,
      );
      if (result === 2) this.#trace(`the Redis lease on db ${this.db} had expired: taken again`);
      if (result === 0 && !this.#lost) {
        this.#lost = true;
        clearInterval(this.#timer);
        const [holder] = await this.#readLeases([this.db]);
        this.#options.onLost?.(
          `the lease on database ${this.db} of ${redactUrl(this.url)} expired (Redis ` +
            `unreachable?) and ${describeHolder(holder)} took it: the two runs share keys`,
        );
      }
    } catch (error) {
      // Redis unreachable: the coordination reports outages; the next refresh tries again.
      this.#trace(`refreshing the Redis lease: ${errorMessage(error)}`);
    }
  }

  /** The lease values of `dbs`, in one round trip. */
  async #readLeases(dbs: number[]): Promise<(string | null)[]> {
    const pipeline = this.#redis.pipeline();
    for (const db of dbs) pipeline.select(db).get(LEASE_KEY);
    pipeline.select(this.db);
    const replies = (await pipeline.exec()) ?? [];
    return dbs.map((_, i) => (replies[i * 2 + 1]?.[1] as string | null) ?? null);
  }

  #trace(message: string): void {
    try {
      this.#options.trace?.(message);
    } catch {
      // a tracer must not break the lease
    }
  }
}

/** Tries to lease `db`; records its live holder in `held` when it cannot. */
async function claim(
  redis: Redis,
  db: number,
  value: string,
  ttlMs: number,
  held: { db: number; holder: string }[],
): Promise<boolean> {
  const replies = await redis.pipeline().select(db).set(LEASE_KEY, value, "PX", ttlMs, "NX")
    .get(LEASE_KEY).exec();
  if (replies?.[1]?.[1] === "OK") return true;
  const holder = replies?.[2]?.[1] as string | null;
  if (holder === null) return claim(redis, db, value, ttlMs, held); // expired just now
  if (isDeadHere(holder)) {
    const taken = await redis.eval(TAKE_OVER, 1, LEASE_KEY, holder, value, ttlMs);
    if (taken === 1) return true;
    return claim(redis, db, value, ttlMs, held);
  }
  held.push({ db, holder: describeHolder(holder) });
  return false;
}

/** A lease value whose holder is a process of this machine that is gone. */
function isDeadHere(value: string): boolean {
  const owner = parseOwner(value);
  return owner !== undefined && processState(owner) === "dead";
}

function describeHolder(value: string | null | undefined): string {
  if (value === null || value === undefined) return "another client";
  const owner = parseOwner(value);
  return owner ? describeOwner(owner) : `a client that wrote ${JSON.stringify(value.slice(0, 80))}`;
}

/** Connects `tm:lease`; rejects with a CoordinationError naming the URL. */
async function connect(url: string, options: RedisLeaseOptions): Promise<Redis> {
  let connected = false;
  const redis = new Redis(url, {
    lazyConnect: true,
    connectionName: "tm:lease",
    disableClientInfo: true,
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    // A request fails after two reconnect attempts instead of waiting for Redis to come back:
    // a refresh is retried by the next one, and a lookup during setup must not hang the run.
    maxRetriesPerRequest: 2,
    // Until connected, one attempt; then reconnect like the coordination's connections.
    retryStrategy: (times) => connected ? Math.min(25 * 2 ** Math.min(times, 6), 1_000) : null,
  });
  let lastError: Error | undefined;
  redis.on("error", (error: Error) => (lastError = error));
  const onAbort = () => redis.disconnect();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await redis.connect();
    connected = true;
    return redis;
  } catch (error) {
    redis.disconnect();
    options.signal?.throwIfAborted();
    const why = lastError?.message ?? errorMessage(error);
    throw new CoordinationError(`cannot connect to Redis at ${redactUrl(url)}: ${why}`, {
      url: redactUrl(url),
      cause: error,
    });
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
}

/** `CONFIG GET databases`, or Redis's default when CONFIG is refused. */
async function countDatabases(redis: Redis): Promise<number> {
  try {
    const reply = await redis.config("GET", "databases") as string[];
    const count = Number(reply[1]);
    return Number.isInteger(count) && count > 0 ? count : DEFAULT_DATABASES;
  } catch {
    return DEFAULT_DATABASES;
  }
}

/**
 * Whether two notify-keyspace-events values enable the same events: Redis reports the flags
 * in its own order, and `A` for `g$lshzxetd`.
 */
function sameFlags(a: string, b: string): boolean {
  const flags = (value: string) => new Set(value.replaceAll("A", "g$lshzxetd"));
  const [x, y] = [flags(a), flags(b)];
  return x.size === y.size && [...x].every((flag) => y.has(flag));
}
