/** A throwaway `redis-server` on a free loopback port, for the conformance runner. */

/** A running redis-server; `await using` (or `stop()`) ends it. */
export interface LocalRedisServer extends AsyncDisposable {
  readonly url: string;
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
      return n !== null && new TextDecoder().decode(buf.subarray(0, n)).startsWith("+PONG");
    } finally {
      conn.close();
    }
  } catch {
    return false;
  }
}

/**
 * Starts `redis-server` (from PATH) on a free port, without persistence; resolves once it
 * answers PING.
 * @param startTimeoutMs how long to wait for the first PONG (default 10 s)
 */
export async function startRedisServer(startTimeoutMs = 10_000): Promise<LocalRedisServer> {
  const port = freePort();
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("redis-server", {
      args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
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
  return { url: `redis://127.0.0.1:${port}`, stop, [Symbol.asyncDispose]: stop };
}
