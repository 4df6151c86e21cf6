/**
 * The Mule client library for peers written in TypeScript (Deno first; Node through a bundle).
 *
 * A peer builds a client from `REDIS_URL`, `PEER_NAME` and `LOG_LEVEL`, reports its status
 * (`SET <peer>_status`), iterates the commands the orchestrator sends (`BLPOP <peer>_command 0`
 * on a connection of its own, no polling) and forwards log lines (`LPUSH <peer>_log
 * "level|message"`) without ever blocking the caller. See README.md for the guide.
 *
 * ```ts
 * const client = await new MuleClientBuilder().build();
 * await client.sendStatus("started");
 * for await (const command of client) {
 *   client.log.info(`received: ${command}`);
 *   if (command === "shutdown") break;
 * }
 * await client.sendStatus("stopped");
 * await client.close();
 * ```
 *
 * Only `node:` built-ins and ioredis are used, so the module runs unchanged under Node once
 * bundled (`deno bundle --platform=node lib/typescript/mod.ts -o mule.mjs`).
 */
import { Redis } from "npm:ioredis@^6.0.0";
import { writeFile } from "node:fs/promises";
import process from "node:process";
import { format } from "node:util";

/** Exit code asking the image's entrypoint.sh to run the peer again after the delay. */
export const RESTART_EXIT_CODE = 42;

/** A command from the orchestrator, parsed; see `parseCommand`. */
export type Command =
  | { kind: "connect" }
  | { kind: "disconnect" }
  | { kind: "shutdown" }
  /** `seconds` as a number; `delay` exactly as sent (what `restart()` writes to the delay file). */
  | { kind: "restart"; seconds: number; delay: string }
  /** A bootstrap peer's address info: everything after the first `|` (may contain `|`). */
  | { kind: "peer"; address: string }
  /** Anything else, verbatim: `push|bob|hi`, `pull`, but also `restart|abc`, `peer|`, `connect|x`. */
  | { kind: "other"; raw: string };

/** A restart delay: a non-negative decimal number of seconds (`5`, `0.5`). */
const DELAY = /^\d+(\.\d+)?$/;

/**
 * Parses a raw command: `connect`, `disconnect`, `shutdown`, `restart|<secs>` and `peer|<addr>`
 * become their own kinds; everything else (including malformed standard ones) is `other`.
 */
export function parseCommand(raw: string): Command {
  switch (raw) {
    case "connect":
    case "disconnect":
    case "shutdown":
      return { kind: raw };
  }
  const bar = raw.indexOf("|");
  const verb = bar < 0 ? raw : raw.slice(0, bar);
  const arg = bar < 0 ? "" : raw.slice(bar + 1);
  if (verb === "restart" && DELAY.test(arg)) {
    return { kind: "restart", seconds: Number(arg), delay: arg };
  }
  if (verb === "peer" && arg !== "") return { kind: "peer", address: arg };
  return { kind: "other", raw };
}

/** `url` with its password replaced by `***`, for messages (`redis://:***@host:6379/2`). */
export function maskRedisUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:)[^@/]*@/i, "$1***@");
}

/** Log levels a peer forwards, most severe first. */
export type LogLevel = "error" | "warn" | "info" | "debug";

const SEVERITY: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** A problem building or using the client; `variable` names the env var at fault, if any. */
export class MuleClientError extends Error {
  readonly variable?: string;
  constructor(message: string, options?: { variable?: string; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.name = "MuleClientError";
    this.variable = options?.variable;
  }
}

/**
 * Parses a `LOG_LEVEL` value, case-insensitive: Python (`WARNING`, `CRITICAL`), Rust
 * (`trace`, `info,my_crate=debug`: the first directive) and plain spellings are understood.
 * Returns undefined for anything else.
 */
export function parseLogLevel(value: string): LogLevel | undefined {
  const word = value.split(",")[0].trim().toLowerCase();
  switch (word) {
    case "trace":
    case "debug":
      return "debug";
    case "info":
      return "info";
    case "warn":
    case "warning":
      return "warn";
    case "error":
    case "critical":
    case "fatal":
      return "error";
    default:
      return undefined;
  }
}

/**
 * Forwards log lines to `<peer>_log`. Calls return at once: lines are queued and pushed by a
 * background flush (one `LPUSH` with many values per round trip, which keeps their order).
 * Lines below the level are dropped before they are queued.
 */
export class PeerLogger {
  readonly level: LogLevel;
  #queue: string[] = [];
  #flushing: Promise<void> | undefined;
  #push: (entries: string[]) => Promise<unknown>;
  #echo: boolean;
  #closed = false;

  /** @internal Built by MuleClientBuilder. */
  constructor(
    level: LogLevel,
    push: (entries: string[]) => Promise<unknown>,
    echo: boolean,
  ) {
    this.level = level;
    this.#push = push;
    this.#echo = echo;
  }

  /** True if a line at `level` would be forwarded. */
  enabled(level: LogLevel): boolean {
    return SEVERITY[level] <= SEVERITY[this.level];
  }

  error(...args: unknown[]): void {
    this.write("error", args);
  }
  warn(...args: unknown[]): void {
    this.write("warn", args);
  }
  info(...args: unknown[]): void {
    this.write("info", args);
  }
  debug(...args: unknown[]): void {
    this.write("debug", args);
  }

  /** Queues one line; arguments are formatted like `console.log` does. */
  write(level: LogLevel, args: unknown[]): void {
    if (!this.enabled(level)) return;
    const message = format(...args);
    if (this.#echo) process.stdout.write(`${level}|${message}\n`);
    if (this.#closed) return;
    this.#queue.push(`${level}|${message}`);
    this.#flushing ??= this.#drain();
  }

  /** Resolves once every line queued so far was pushed (or could not be). */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  /** @internal Flushes, then drops later lines. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }

  async #drain(): Promise<void> {
    // Yield once so lines logged in the same tick share one LPUSH.
    await Promise.resolve();
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue;
        this.#queue = [];
        try {
          await this.#push(batch);
        } catch (error) {
          process.stderr.write(
            `mule: could not forward ${batch.length} log line(s): ${(error as Error).message}\n`,
          );
        }
      }
    } finally {
      this.#flushing = undefined;
    }
  }
}

/** Options the builder resolved; see MuleClientBuilder for defaults. */
interface ClientSettings {
  redisUrl: string;
  peerName: string;
  logLevel: LogLevel;
  echoLogs: boolean;
  connectTimeoutMs: number;
}

/**
 * Builds a MuleClient. Values not set here come from the environment: `REDIS_URL` and
 * `PEER_NAME` (required), `LOG_LEVEL` (default `info`), `MULE_CONNECT_TIMEOUT` (seconds,
 * default 10).
 */
export class MuleClientBuilder {
  #redisUrl?: string;
  #peerName?: string;
  #logLevel?: LogLevel;
  #echoLogs = false;
  #connectTimeoutMs?: number;

  /** Redis URL, instead of `REDIS_URL`. */
  redisUrl(url: string): this {
    this.#redisUrl = url;
    return this;
  }

  /** Peer name (the prefix of its Redis keys), instead of `PEER_NAME`. */
  peerName(name: string): this {
    this.#peerName = name;
    return this;
  }

  /** Forwarding threshold, instead of `LOG_LEVEL` (default `info`). */
  logLevel(level: LogLevel): this {
    this.#logLevel = level;
    return this;
  }

  /** Also print forwarded log lines on stdout as `level|message` (default false). */
  echoLogs(echo = true): this {
    this.#echoLogs = echo;
    return this;
  }

  /**
   * How long `build()` keeps retrying an unreachable Redis before it fails, instead of
   * `MULE_CONNECT_TIMEOUT` (default 10 s).
   */
  connectTimeout(ms: number): this {
    this.#connectTimeoutMs = ms;
    return this;
  }

  /** Connects to Redis (two connections: one for commands, one for the rest). */
  async build(): Promise<MuleClient> {
    const env = process.env;
    const redisUrl = this.#redisUrl ?? env.REDIS_URL;
    if (!redisUrl) {
      throw new MuleClientError(
        "REDIS_URL is not set: the orchestrator sets it; set it yourself (e.g. redis://127.0.0.1:6379) or call .redisUrl()",
        { variable: "REDIS_URL" },
      );
    }
    const peerName = this.#peerName ?? env.PEER_NAME;
    if (!peerName) {
      throw new MuleClientError(
        "PEER_NAME is not set: the orchestrator sets it; set it yourself or call .peerName()",
        { variable: "PEER_NAME" },
      );
    }
    let logLevel = this.#logLevel;
    if (logLevel === undefined) {
      const raw = env.LOG_LEVEL;
      logLevel = raw === undefined || raw.trim() === "" ? "info" : parseLogLevel(raw);
      if (logLevel === undefined) {
        throw new MuleClientError(
          `LOG_LEVEL=${JSON.stringify(raw)} is not a log level (error, warn, info, debug, trace)`,
          { variable: "LOG_LEVEL" },
        );
      }
    }
    let connectTimeoutMs = this.#connectTimeoutMs;
    if (connectTimeoutMs === undefined) {
      const raw = env.MULE_CONNECT_TIMEOUT;
      const seconds = raw === undefined || raw.trim() === "" ? 10 : Number(raw);
      if (!Number.isFinite(seconds) || seconds <= 0) {
        throw new MuleClientError(
          `MULE_CONNECT_TIMEOUT=${JSON.stringify(raw)} is not a positive number of seconds`,
          { variable: "MULE_CONNECT_TIMEOUT" },
        );
      }
      connectTimeoutMs = seconds * 1_000;
    }
    const settings: ClientSettings = {
      redisUrl,
      peerName,
      logLevel,
      echoLogs: this.#echoLogs,
      connectTimeoutMs,
    };
    const main = await connect(settings, "main");
    try {
      const commands = await connect(settings, "commands");
      return new MuleClient(settings, main, commands);
    } catch (error) {
      main.disconnect();
      throw error;
    }
  }
}

async function connect(settings: ClientSettings, role: string): Promise<Redis> {
  let lastError: Error | undefined;
  const redis = new Redis(settings.redisUrl, {
    lazyConnect: true,
    connectionName: `mule:${settings.peerName}:${role}`,
    // The command connection blocks forever; its request must survive reconnects.
    maxRetriesPerRequest: role === "commands" ? null : 20,
    retryStrategy: (times) => Math.min(50 * times, 1_000),
  });
  redis.on("error", (error: Error) => {
    lastError = error;
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      new Promise<void>((resolve, reject) => {
        redis.once("ready", resolve);
        redis.connect().catch(() => {/* retried by retryStrategy until the timeout */});
        redis.once("end", () => reject(lastError ?? new Error("connection ended")));
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(lastError ?? new Error(`no answer within ${settings.connectTimeoutMs} ms`)),
          settings.connectTimeoutMs,
        );
      }),
    ]);
  } catch (error) {
    redis.disconnect();
    const seconds = settings.connectTimeoutMs / 1_000;
    throw new MuleClientError(
      `cannot reach Redis at ${maskRedisUrl(settings.redisUrl)} after ${seconds}s: ${
        (error as Error).message
      }`,
      { variable: "REDIS_URL", cause: error },
    );
  } finally {
    clearTimeout(timer);
  }
  redis.removeAllListeners("error");
  // ioredis reconnects by itself; say so once per distinct error rather than on every retry.
  let said = "";
  redis.on("error", (error: Error) => {
    if (error.message === said) return;
    said = error.message;
    process.stderr.write(`mule: Redis ${role} connection: ${error.message} (reconnecting)\n`);
  });
  redis.on("ready", () => {
    said = "";
  });
  return redis;
}

/**
 * A connected peer. Iterate it for commands (`for await (const command of client)`), report
 * with `sendStatus`, log with `client.log`, and `close()` at the end.
 */
export class MuleClient implements AsyncIterable<string> {
  /** This peer's name (the prefix of its Redis keys). */
  readonly peerName: string;
  /** Forwards log lines to the orchestrator. */
  readonly log: PeerLogger;
  #main: Redis;
  #commands: Redis;
  #closed = false;
  /** Set once a final status (`stopped` on SIGTERM, `restarting`) is on its way. */
  #finishing = false;
  #statusKey: string;
  #commandKey: string;
  #removeSigtermListener?: () => void;

  /** @internal Use MuleClientBuilder. */
  constructor(settings: ClientSettings, main: Redis, commands: Redis) {
    this.peerName = settings.peerName;
    this.#main = main;
    this.#commands = commands;
    this.#statusKey = `${settings.peerName}_status`;
    this.#commandKey = `${settings.peerName}_command`;
    const logKey = `${settings.peerName}_log`;
    this.log = new PeerLogger(
      settings.logLevel,
      (entries) => main.lpush(logKey, ...entries),
      settings.echoLogs,
    );
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sets `<peer>_status` (`started`, `started|<vlad>|<multiaddr>`, `connected`, `stopped`, ...).
   * Log lines queued before the call are pushed first, so the orchestrator sees them first.
   */
  async sendStatus(status: string): Promise<void> {
    // Once SIGTERM handling or restart() set the final status, a command still in progress
    // must not overwrite it: its late status is dropped.
    if (this.#finishing) return;
    await this.#setStatus(status);
  }

  /** Reports a peer-side failure: status `failed|<reason>`. */
  async fail(reason: string): Promise<void> {
    await this.sendStatus(`failed|${reason}`);
  }

  /**
   * The whole restart protocol: status `restarting`, `delay` written to `TM_DELAY_FILE`
   * (default `/tmp/delay`) exactly as given, an info line, every log line flushed, the client
   * closed, and the process exits with code 42 (entrypoint.sh sleeps, then runs it again).
   * @param delay non-negative seconds, e.g. `5` or `"0.5"`
   */
  async restart(delay: number | string): Promise<never> {
    const text = String(delay);
    if (!DELAY.test(text)) {
      throw new MuleClientError(`restart(${JSON.stringify(delay)}): not a number of seconds >= 0`);
    }
    this.#finishing = true;
    const file = process.env.TM_DELAY_FILE || "/tmp/delay";
    try {
      await this.#setStatus("restarting");
      await writeFile(file, text);
    } catch (error) {
      // The peer keeps running: its later statuses must not be dropped as if it were exiting.
      this.#finishing = false;
      throw error;
    }
    this.log.info(`restarting in ${text}s (delay written to ${file})`);
    await this.close();
    process.exit(RESTART_EXIT_CODE);
  }

  /**
   * Installs SIGTERM handling (once; removed by `close()`): log `received SIGTERM, stopping`,
   * status `stopped`, every log line flushed, the client closed, and the process exits 0.
   * Statuses sent after the signal by code still running are dropped, so `stopped` stays last.
   */
  stopOnSigterm(): void {
    if (this.#removeSigtermListener || this.#closed) return;
    const onTerm = () => {
      if (this.#finishing || this.#closed) return;
      this.#finishing = true;
      this.log.info("received SIGTERM, stopping");
      this.#setStatus("stopped")
        .catch((error) => {
          process.stderr.write(`mule: could not report stopped: ${(error as Error).message}\n`);
        })
        .finally(() => this.close())
        .finally(() => process.exit(0));
    };
    process.on("SIGTERM", onTerm);
    this.#removeSigtermListener = () => process.off("SIGTERM", onTerm);
  }

  async #setStatus(status: string): Promise<void> {
    this.#assertOpen("sendStatus");
    await this.log.flush();
    await this.#main.set(this.#statusKey, status);
  }

  /**
   * Waits for the next command (`BLPOP <peer>_command 0`). Resolves to undefined once the
   * client is closed.
   */
  async nextCommand(): Promise<string | undefined> {
    if (this.#closed) return undefined;
    try {
      const reply = await this.#commands.blpop(this.#commandKey, 0);
      return reply?.[1];
    } catch (error) {
      if (this.#closed) return undefined;
      throw new MuleClientError(`waiting for a command failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** Yields every command, in the order the orchestrator sent them, until `close()`. */
  async *[Symbol.asyncIterator](): AsyncGenerator<string> {
    for (;;) {
      const command = await this.nextCommand();
      if (command === undefined) return;
      yield command;
    }
  }

  /** Flushes queued log lines and closes both connections; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#removeSigtermListener?.();
    // A BLPOP may be pending: drop that connection rather than wait for it.
    this.#commands.disconnect();
    try {
      await this.log.close();
      await this.#main.quit();
    } catch {
      this.#main.disconnect();
    }
  }

  #assertOpen(what: string): void {
    if (this.#closed) throw new MuleClientError(`${what}() after close()`);
  }
}
