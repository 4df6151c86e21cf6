/**
 * DockerRedis: the coordination Redis as a container on this machine (`docker run -d` of
 * `redis.image` publishing `redis.port`), ready once it answers PING; `stop()` removes it.
 * Redis containers that dead runs of the same test left (a SIGKILLed tm) are removed first,
 * with a warning; a live run's are left alone (docs/concurrency.md).
 */
import type { RuntimeSink } from "../../engine/runtime.ts";
import type { RedisProvider, RedisServer } from "../../engine/redis_provider.ts";
import { currentOwner, describeOwner, type RunOwner } from "../../coordination/run_owner.ts";
import {
  LABELS,
  OWNER_LABEL_KEYS,
  ownerOfLabels,
  redisContainerName,
  redisLabels,
} from "./container_names.ts";
import { Docker, DockerError } from "./docker.ts";
import { LocalRemote } from "../../transport/local.ts";
import { runLiveness } from "./run_liveness.ts";
import { setTimeout as sleep } from "node:timers/promises";

/** Redis did not come up: port taken, image missing, crashed, or no PONG in time. */
export class RedisStartError extends Error {
  constructor(
    message: string,
    /** The host port asked for. */
    readonly port: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "RedisStartError";
  }
}

export interface DockerRedisOptions {
  /** `redis.image` and `redis.port` from the config. */
  redis: { image: string; port: number };
  /** The run id, for the container's name and labels. */
  runId: string;
  /** The test name, for the container's name and labels. */
  test: string;
  /** Who runs this run, for the labels. Default: this process (`currentOwner`). */
  owner?: RunOwner;
  /** The local engine. Default: the docker CLI on this machine. */
  docker?: Docker;
  /** How long to wait for PONG, ms. Default: 30 000. */
  readyTimeoutMs?: number;
}

export class DockerRedis implements RedisProvider {
  readonly #options: DockerRedisOptions;
  readonly #docker: Docker;

  constructor(options: DockerRedisOptions) {
    this.#options = options;
    this.#docker = options.docker ?? new Docker(new LocalRemote());
  }

  /** The container name this provider uses. */
  get containerName(): string {
    return redisContainerName(this.#options.test, this.#options.runId);
  }

  async start(signal: AbortSignal, emit: RuntimeSink = () => {}): Promise<RedisServer> {
    const { redis, runId, test } = this.#options;
    const name = this.containerName;
    const live = await this.#removeDeadLeftovers(signal, emit);
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      try {
        await this.#docker.rm([name], { force: true });
      } catch {
        // never throws: the container is gone or docker is unreachable, nothing more to do
      }
    };
    try {
      await this.#docker.run({
        image: redis.image,
        name,
        labels: redisLabels(this.#options.owner ?? currentOwner(runId, test)),
        ports: [{ host: redis.port, container: 6379, protocol: "tcp" }],
      }, signal);
    } catch (error) {
      await stop(); // a failed start can leave a created container behind
      throw this.#startError(error, live);
    }
    try {
      await this.#waitForPong(name, signal);
    } catch (error) {
      await stop();
      throw signal.aborted ? signal.reason : error;
    }
    return { url: `redis://127.0.0.1:${redis.port}`, stop };
  }

  /**
   * Removes the Redis containers of dead runs of this test, each with a warning.
   * @returns the others (a live run's, or one whose liveness cannot be told), described
   */
  async #removeDeadLeftovers(signal: AbortSignal, emit: RuntimeSink): Promise<string[]> {
    const { test, runId } = this.#options;
    const found = await this.#docker.containers(
      { labels: [`${LABELS.test}=${test}`, `${LABELS.role}=redis`] },
      { labelKeys: OWNER_LABEL_KEYS, signal },
    );
    const kept: string[] = [];
    for (const container of found) {
      const owner = ownerOfLabels(container.labels);
      if (!owner || owner.test !== test || owner.runId === runId) continue;
      const liveness = await runLiveness(owner);
      if (liveness !== "dead") {
        kept.push(
          `${container.name} of ${describeOwner(owner)}${
            liveness === "alive" ? ", which is still running" : ", which tm cannot tell is over"
          }`,
        );
        continue;
      }
      emit({
        type: "warning",
        message: `removing the Redis container ${container.name} left by run ${owner.runId} ` +
          `of this test, which is no longer running`,
      });
      await this.#docker.rm([container.id], { force: true, signal });
    }
    return kept;
  }

  #startError(error: unknown, live: string[]): Error {
    const port = this.#options.redis.port;
    if (!(error instanceof DockerError)) return error as Error;
    if (/port is already allocated|address already in use|bind.*failed/i.test(error.stderr)) {
      if (live.length > 0) {
        return new RedisStartError(
          `redis.port ${port} is already in use on this machine, maybe by the Redis container ` +
            `${live.join("; ")}: wait for that run to end, or choose another redis.port`,
          port,
          { cause: error },
        );
      }
      return new RedisStartError(
        `redis.port ${port} is already in use on this machine: stop what listens there or ` +
          `choose another redis.port`,
        port,
        { cause: error },
      );
    }
    if (/unable to find image|pull access denied|no such image/i.test(error.stderr)) {
      return new RedisStartError(
        `the Redis image ${this.#options.redis.image} is not on this machine and could not be ` +
          `pulled: ${error.stderr}`,
        port,
        { cause: error },
      );
    }
    return new RedisStartError(`could not start Redis: ${error.message}`, port, { cause: error });
  }

  /** PING every 25 ms until PONG; checks the container every second so a crash fails fast. */
  async #waitForPong(name: string, signal: AbortSignal): Promise<void> {
    const port = this.#options.redis.port;
    const timeout = this.#options.readyTimeoutMs ?? 30_000;
    const deadline = Date.now() + timeout;
    let lastCheck = Date.now();
    let lastReply = "";
    for (;;) {
      signal.throwIfAborted();
      const reply = await ping(port, signal);
      if (reply.startsWith("+PONG")) return;
      if (reply.startsWith("-DENIED")) {
        throw new RedisStartError(
          `Redis in ${this.#options.redis.image} refuses connections from outside its ` +
            `container (protected mode): run it with --protected-mode no`,
          port,
        );
      }
      if (reply.startsWith("-NOAUTH")) {
        throw new RedisStartError(
          `Redis in ${this.#options.redis.image} requires a password; tm needs one without`,
          port,
        );
      }
      if (reply !== "") lastReply = reply;
      if (Date.now() - lastCheck >= 1000) {
        lastCheck = Date.now();
        const [row] = await this.#docker.containers({ names: [`^${name}$`] }, { signal });
        if (!row || row.state !== "running") {
          const logs = row ? await this.#docker.logs(name, 10, signal).catch(() => []) : [];
          throw new RedisStartError(
            `the Redis container ${name} stopped before answering PING` +
              (logs.length ? `:\n${logs.join("\n")}` : ""),
            port,
          );
        }
      }
      if (Date.now() > deadline) {
        throw new RedisStartError(
          `Redis on port ${port} did not answer PING within ${timeout / 1000} s` +
            (lastReply ? ` (last reply: ${lastReply.trim()})` : ""),
          port,
        );
      }
      await sleep(25, undefined, { signal });
    }
  }
}

/** Sends PING to 127.0.0.1:port; resolves with the first reply line, or "" if none. */
async function ping(port: number, signal: AbortSignal): Promise<string> {
  let conn: Deno.TcpConn | undefined;
  const timer = setTimeout(() => conn?.close(), 1000);
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port, signal });
    await conn.write(new TextEncoder().encode("PING\r\n"));
    const buffer = new Uint8Array(256);
    const n = await conn.read(buffer);
    return n ? new TextDecoder().decode(buffer.subarray(0, n)) : "";
  } catch {
    return "";
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch {
      // already closed by the timer
    }
  }
}
