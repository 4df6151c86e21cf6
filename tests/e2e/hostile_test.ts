/**
 * End to end: hostile data stays inert on the two-host testbed. A Redis password given in
 * `--redis-url` reaches the peers but never the console or the log file.
 */
import { ok as assert } from "node:assert";
import { deepStrictEqual as assertEquals } from "node:assert";
import { workspace } from "../support/e2e.ts";
import { startRedisServer } from "../support/redis_server.ts";

const PASSWORD = "s3cret-e2e";

Deno.test("tm --redis-url with a password gives it to the peers and masks it on the console, on stderr and in the log file [integration: testbed]", async () => {
  await using ws = await workspace("redis-password");
  const { bed } = ws;
  const image = bed.peerImage;
  await using redis = await startRedisServer({
    extraArgs: ["--bind", "0.0.0.0", "--protected-mode", "no", "--requirepass", PASSWORD],
  });
  const config = await ws.writeConfig({
    timeout: { startup: 30, shutdown: 10 },
    redis: { port: ws.redisPort, image: bed.redisImage },
    images: [image],
    hosts: [ws.host(bed.hostA, { tags: ["a"] }), ws.host(bed.hostB, { tags: ["b"] })],
    peers: [{ name: "near", image, runs_on: "a" }, { name: "far", image, runs_on: "b" }],
    commands: [{ time: 0, peer: "near", command: "connect" }],
  });
  const url = `redis://default:${PASSWORD}@127.0.0.1:${redis.port}`;
  const result = await ws.run([config, "--redis-url", url, "--verbose"]);
  const output = `${result.stdout}\n${result.stderr}`;
  // Both peers reported statuses through Redis: they authenticated with the real password.
  assertEquals(result.code, 0, output);
  assert(
    result.stdout.includes(`redis ready at redis://default:***@127.0.0.1:${redis.port}`),
    output,
  );
  assert(!output.includes(PASSWORD), `the password was printed:\n${output}`);
  const log = await ws.logText();
  assert(log.includes(`ready at redis://default:***@127.0.0.1:${redis.port}`), log);
  assert(!log.includes(PASSWORD), `the password is in the log file:\n${log}`);
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});
