/**
 * Test support: a real `redis-server` (Debian package) on a free loopback port, started
 * per test and stopped in `finally`. Implements RedisProvider so engine tests can use it.
 */
import type { RedisProvider, RedisServer } from "../../src/engine/redis_provider.ts";

export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** A running redis-server; `await using` stops it. */
export interface LocalRedis extends RedisServer, AsyncDisposable {
  readonly port: number;
}

/** Starts `redis-server` on a free port; resolves once it answers PING. */
export async function startRedisServer(
  options: { version7?: boolean; extraArgs?: string[] } = {},
): Promise<LocalRedis> {
  const port = freePort();
  const child = new Deno.Command("redis-server", {
    args: [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      ...(options.extraArgs ?? []),
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(new TextEncoder().encode("PING\r\n"));
      const buf = new Uint8Array(16);
      const n = await conn.read(buf);
      conn.close();
      // With --requirepass an unauthenticated PING is refused with NOAUTH: up all the same.
      if (n && /^(\+PONG|-NOAUTH)/.test(new TextDecoder().decode(buf.subarray(0, n)))) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`redis-server on port ${port} did not answer PING within 10 s`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
    await child.stderr.cancel().catch(() => {});
  };
  return { port, url: `redis://127.0.0.1:${port}`, stop, [Symbol.asyncDispose]: stop };
}

/** A RedisProvider over startRedisServer, for engine tests. */
export function localRedisProvider(): RedisProvider {
  return { start: () => startRedisServer() };
}
