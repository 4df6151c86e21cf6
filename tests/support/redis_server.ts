/**
 * Test support: a real `redis-server` (Debian package) on a free loopback port, started per test
 * and stopped in `finally` (lib/conformance/redis_server.ts, the one owner), and a RedisProvider
 * over it for the engine's tests.
 */
import type { RedisProvider } from "../../src/engine/redis_provider.ts";
import { startRedisServer } from "../../lib/conformance/redis_server.ts";

export {
  freePort,
  type LocalRedisServer as LocalRedis,
  startRedisServer,
} from "../../lib/conformance/redis_server.ts";

/** A RedisProvider over startRedisServer, for engine tests. */
export function localRedisProvider(): RedisProvider {
  return { start: () => startRedisServer() };
}
