/**
 * A throwaway `redis-server` on a free loopback port: the conformance runner's, and (through
 * tests/support/redis_server.ts) tm's own tests'.
 */

/** A running redis-server; `await using` (or `stop()`) ends it. */
export interface LocalRedisServer extends AsyncDisposable {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** `redis-server` did not come up. */
export class RedisServerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RedisServerError";
  }
}

/** A TCP port nothing listens on right now (the kernel's choice, released at once). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** True once a PING on `port` answers PONG. */
async function answersPing(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(new TextEncoder().encode("PING\r\n"));
      const buf = new Uint8Array(16);
      const n = await conn.read(buf);
      // With --requirepass an unauthenticated PING is refused with NOAUTH: up all the same.
      return n !== null && /^(\+PONG|-NOAUTH)/.test(new TextDecoder().decode(buf.subarray(0, n)));
    } finally {
      conn.close();
    }
  } catch {
    return false;
  }
}

/** How to start the server. */
export interface RedisServerOptions {
  /** More `redis-server` arguments (e.g. `--requirepass`, `--bind 0.0.0.0`). Default: none. */
  extraArgs?: string[];
  /** How long to wait for the first answer to PING, ms. Default: 10 s. */
  startTimeoutMs?: number;
}

/**
 * Starts `redis-server` (from PATH) on a free port, on loopback, without persistence; resolves
 * once it answers PING.
 */
export async function startRedisServer(
  options: RedisServerOptions = {},
): Promise<LocalRedisServer> {
  const { extraArgs = [], startTimeoutMs = 10_000 } = options;
  const port = freePort();
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("redis-server", {
      args: [
        ...["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        ...extraArgs,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch (error) {
    throw new RedisServerError(
      `cannot start redis-server (${(error as Error).message}): install it or pass --redis-url`,
      { cause: error },
    );
  }
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGTERM");
    } catch { /* exited already */ }
    await child.status;
  };
  const deadline = performance.now() + startTimeoutMs;
  while (!(await answersPing(port))) {
    if (performance.now() > deadline) {
      await stop();
      throw new RedisServerError(
        `redis-server on port ${port} did not answer within ${startTimeoutMs} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { url: `redis://127.0.0.1:${port}`, port, stop, [Symbol.asyncDispose]: stop };
}
